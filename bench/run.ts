/**
 * One harness for every benchmark: `npm run bench -- NAME [options]`. Each benchmark lives
 * in bench/NAME.ts, exports `run(args)` returning a result object, measures its baseline in
 * the same run, and the harness prints that object as one JSON line, last.
 */
import { spawnSync } from 'node:child_process';
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
// `--node 24`: the same bench under another Node line (the one the Debian package ships), by
// scripts/bench-node.sh, which runs this harness again under it.
const nodeAt = args.indexOf('--node');
if (nodeAt >= 0) {
  const major = args[nodeAt + 1] ?? '';
  if (!/^\d+$/.test(major)) {
    process.stderr.write('--node takes a major version, e.g. --node 24\n');
    process.exit(2);
  }
  const rest = [...args.slice(0, nodeAt), ...args.slice(nodeAt + 2)];
  const child = spawnSync(path.join(here, '..', 'scripts', 'bench-node.sh'), [major, name, ...rest], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const mod = (await import(path.join(here, `${name}.ts`))) as { run: (args: string[]) => Promise<Record<string, unknown>> };
// The machine is shared: the load around the run says how much its timings can be trusted.
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = loadavg();
const result = await mod.run(args);
process.stdout.write(`${JSON.stringify({ bench: name, ...result, node: process.version, loadavg: { before: loadBefore, after: loadavg() } })}\n`);
