/**
 * The README's quickstart as a newcomer types it (issue 16, item 0): the demo runs (what
 * `npm start` runs once it has built: `node bin/canopy.cjs demo`, from the checkout, on its
 * default ports), then "in another terminal" `npx canopy ls`, `npx canopy publish
 * ./some-file.iso --criteria 'region=eu & tier=edge'` and `npx canopy status --watch` work
 * as written. HOME points at a temporary directory and no CANOPY_* variable is set, so the
 * demo and the CLI both use (and create) the default publisher key there, never the real one.
 * It needs the default ports 7400-7431 free (no other `npm start` running).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { stopProcess } from '../../src/demo/local-network.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { DEMO_ARGS, demoReady, ensureBuilt } from '../helpers/demo-process.js';

const repo = path.resolve('.');
const home = tempDir('canopy-readme-home-');
const isoFile = path.join(repo, 'some-file.iso');
const UNSET = ['CANOPY_KEY', 'XDG_CONFIG_HOME', 'CANOPY_API_TOKEN', 'CANOPY_API_TOKEN_FILE', 'CANOPY_API'];
const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home.path };
for (const k of UNSET) delete env[k];
let demo: ReturnType<typeof spawn> | undefined;

before(async () => {
  ensureBuilt(repo);
  writeFileSync(isoFile, Buffer.alloc(3 * 2 ** 20, 7));
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
  assert.ok(existsSync(path.join(home.path, '.config', 'canopy', 'publisher-key.json')), 'the default key was created under HOME');
  const watch = await npx(['status', '--watch']);
  assert.equal(watch.code, 0, watch.stderr);
  assert.match(watch.stdout, /some-file\.iso/);
});

it('the demo exits cleanly on Ctrl-C', async () => {
  const exited = once(demo!, 'exit');
  demo!.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
  demo = undefined;
});
