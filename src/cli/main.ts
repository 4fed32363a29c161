#!/usr/bin/env node
/** The `canopy` command: one file per subcommand under ./commands, assembled in ./program.ts. */
// First, before the rest of the program is even loaded (loading it allocates enough to grow
// the young generation): it keeps V8's young generation small (young-generation.ts).
import './young-generation.js';

const { CommanderError } = await import('commander');
const { buildProgram, commandOf } = await import('./program.js');
const program = await buildProgram(commandOf(process.argv.slice(2)));
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else throw err;
}
