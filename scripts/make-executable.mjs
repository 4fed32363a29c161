// tsc writes dist/cli/main.js without the execute bit; npm links `canopy` to it only once
// (at install), so after `rm -rf dist && npm run build` the link would point at a file
// the shell cannot run. The build sets the bit itself.
import { chmodSync, statSync } from 'node:fs';

for (const file of process.argv.slice(2)) chmodSync(file, statSync(file).mode | 0o111);
