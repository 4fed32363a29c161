/**
 * One harness for every benchmark: `npm run bench -- NAME [options]`. Each benchmark lives
 * in bench/NAME.ts, exports `run(args)` returning a result object, measures its baseline in
 * the same run, and the harness prints that object as one JSON line, last.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''));

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [options]\navailable: ${available.join(', ')}\n`);
  process.exit(2);
}
const mod = (await import(path.join(here, `${name}.ts`))) as { run: (args: string[]) => Promise<Record<string, unknown>> };
// The machine is shared: the load around the run says how much its timings can be trusted.
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = loadavg();
const result = await mod.run(args);
process.stdout.write(`${JSON.stringify({ bench: name, ...result, loadavg: { before: loadBefore, after: loadavg() } })}\n`);
