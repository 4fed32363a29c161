/**
 * The README's quickstart as a newcomer types it (issue 16, item 0): the demo runs (what
 * `npm start` runs once it has built: `node bin/canopy.cjs demo`, from the checkout, on its
 * default ports), then "in another terminal" `npx canopy ls`, `npx canopy publish
 * ./some-file.iso --criteria 'region=eu & tier=edge'` and `npx canopy status --watch` work
 * as written. HOME points at a temporary directory and no CANOPY_* variable is set, so the
 * demo and the CLI both use (and create) the default publisher key there, never the real one.
 * It needs the default ports 7400-7431 free (no other `npm start` running).
 *
 * The ISO is 256 MiB, where the default block size becomes 4 MiB (ingest/block-size.ts): the
 * one test of that rule through the real CLI, read back from the publish's summary and the
 * root's manifest (`canopy ls --json`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { stopProcess } from '../../src/demo/local-network.js';
import { lastJson, runCommand, tempDir } from '../helpers/cli.js';
import { DEMO_ARGS, demoReady, ensureBuilt } from '../helpers/demo-process.js';

const repo = path.resolve('.');
const home = tempDir('canopy-readme-home-');
const isoFile = path.join(repo, 'some-file.iso');
const UNSET = ['CANOPY_KEY', 'XDG_CONFIG_HOME', 'CANOPY_API_TOKEN', 'CANOPY_API_TOKEN_FILE', 'CANOPY_API'];
const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home.path };
for (const k of UNSET) delete env[k];
let demo: ReturnType<typeof spawn> | undefined;
const MiB = 2 ** 20;

/**
 * 256 MiB of one byte: the block size depends on the size alone, and identical blocks are
 * stored and sent once, so the root and the qualified node hold 4 MiB, not 256. Not zeros,
 * which would be holes and no blocks at all.
 */
function writeIso(file: string): void {
  const chunk = Buffer.alloc(4 * MiB, 7);
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < 64; i++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

before(async () => {
  ensureBuilt(repo);
  writeIso(isoFile);
  demo = spawn(process.execPath, DEMO_ARGS, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  await demoReady(demo);
});
after(async () => {
  if (demo) await stopProcess(demo);
  rmSync(isoFile, { force: true });
  home.remove();
});

// runCommand adds this process's environment (with the tests' CANOPY_KEY): the shell drops it again.
const npx = (args: string[]) => runCommand('sh', ['-c', `unset ${UNSET.join(' ')}; cd ${JSON.stringify(repo)} && npx canopy ${args.join(' ')}`], { env, timeoutMs: 90_000 });

it("the README's first publish works in another terminal while the demo runs", async () => {
  const ls = await npx(['ls']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /sample\.bin/);
  const pub = await npx(['publish', './some-file.iso', '--criteria', "'region=eu & tier=edge'"]);
  assert.equal(pub.code, 0, pub.stderr);
  assert.doesNotMatch(pub.stderr, /ERR_/);
  // The default rule's choice (its reason starts "length:"; an override's "--block-size").
  assert.match(pub.stdout, /^ {2}64 blocks of 4\.0 MiB \(length: 256\.0 MiB in 64 blocks of 4\.0 MiB, 4 MiB blocks /m, pub.stdout);
  assert.ok(existsSync(path.join(home.path, '.config', 'canopy', 'publisher-key.json')), 'the default key was created under HOME');
  const watch = await npx(['status', '--watch']);
  assert.equal(watch.code, 0, watch.stderr);
  assert.match(watch.stdout, /some-file\.iso/);
  // The manifest the root keeps: 64 blocks of 4 MiB.
  const listed = await npx(['ls', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const iso = lastJson<{ contents: { name: string; size: number; blocks: number; blockSize: number }[] }>(listed.stdout).contents.find((c) => c.name === 'some-file.iso');
  assert.deepEqual(iso && [iso.size, iso.blocks, iso.blockSize], [256 * MiB, 64, 4 * MiB], listed.stdout);
});

it('the demo exits cleanly on Ctrl-C', async () => {
  const exited = once(demo!, 'exit');
  demo!.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
  demo = undefined;
});
