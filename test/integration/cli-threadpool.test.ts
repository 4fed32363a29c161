/**
 * Every way of starting `canopy` runs libuv's thread pool at the size the Debian package
 * ships, 16, unless UV_THREADPOOL_SIZE is set (docs/STORE.md): the npm `bin` entry run as
 * an executable, `npm run canopy` as package.json writes it, and the command the demo and
 * the tests start nodes with (cliCommand). The pool's size is counted, not read from the
 * variable: a preloaded probe makes the pool run a job once the entry's first synchronous
 * part is done (libuv starts all its threads then) and prints the process's thread count
 * at exit; the pool's size is that count less the count with UV_THREADPOOL_SIZE=1, plus 1
 * (Node 20's libuv does not name its threads, so they cannot be told apart by name).
 * The command nodes are started with also runs V8's worker pool at one thread instead of
 * Node's four (`nodeRuntimeArgs`, for resident memory), counted the same way.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliCommand, nodeRuntimeArgs } from '../../src/demo/local-network.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { ensureBuilt } from '../helpers/demo-process.js';

const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };

const PROBE = `
const fs = require('node:fs');
setImmediate(() => fs.stat(__filename, () => {}));
process.on('exit', () => process.stderr.write('threads=' + fs.readdirSync('/proc/self/task').length + '\\n'));
`;

describe('the thread pool of the canopy command', () => {
  const dir = tempDir('canopy-pool-');
  const probe = path.join(dir.path, 'probe.cjs');
  before(() => {
    ensureBuilt(repo);
    writeFileSync(probe, PROBE);
  });
  after(() => dir.remove());

  /** Threads of `command args --version` with the probe preloaded; `size` is UV_THREADPOOL_SIZE ('' = unset). */
  async function threads(command: string, args: string[], size: string): Promise<number> {
    const env: Record<string, string> = { NODE_OPTIONS: `--require ${probe}` };
    const parent = { ...process.env };
    delete parent.UV_THREADPOOL_SIZE;
    if (size !== '') env.UV_THREADPOOL_SIZE = size;
    const r = await runCommand(command, [...args, '--version'], { env: { ...parent, ...env } as Record<string, string> });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version);
    const m = /threads=(\d+)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    return Number(m[1]);
  }

  /** The pool's size when started as `command args` with UV_THREADPOOL_SIZE `size`. */
  async function poolSize(command: string, args: string[], size: string): Promise<number> {
    return (await threads(command, args, size)) - (await threads(command, args, '1')) + 1;
  }

  it('is 16 for the npm bin entry run as an executable, and the user’s size when UV_THREADPOOL_SIZE is set', async () => {
    const bin = path.join(repo, pkg.bin.canopy!);
    assert.equal(await poolSize(bin, [], ''), 16);
    assert.equal(await poolSize(bin, [], '6'), 6);
  });

  it('is 16 for `npm run canopy` (the sources under tsx) and for the command nodes are started with', async () => {
    const [node, ...dev] = pkg.scripts.canopy!.split(' ');
    assert.equal(node, 'node');
    const devArgs = dev.map((a) => (a.startsWith('./') || a.endsWith('.ts') ? path.join(repo, a) : a));
    assert.equal(await poolSize(process.execPath, devArgs, ''), 16);
    const { command, args } = cliCommand();
    assert.equal(await poolSize(command, args, ''), 16);
    assert.equal(await poolSize(command, args, '3'), 3);
  });

  it('runs V8\'s worker pool at one thread in the command nodes are started with, unless NODE_OPTIONS names a size', async () => {
    const { command, args } = cliCommand();
    assert.equal(args[0], '--v8-pool-size=1');
    // Node's default pool is four workers: the same command without the option has three threads more.
    assert.equal((await threads(command, args.slice(1), '1')) - (await threads(command, args, '1')), 3);
    assert.deepEqual(nodeRuntimeArgs('--max-old-space-size=200 --v8-pool-size=2'), []);
    assert.deepEqual(nodeRuntimeArgs(''), ['--v8-pool-size=1']);
  });

  it('`npm start` runs the bin entry', () => {
    assert.match(pkg.scripts.start!, new RegExp(`node ${pkg.bin.canopy!.replace('.', '\\.')} demo$`));
  });
});
