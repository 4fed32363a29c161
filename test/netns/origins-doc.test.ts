/**
 * docs/ORIGINS.md run as written: every `sh` block is taken from the document at run time
 * (test/helpers/doc-blocks.ts) and each line fed, in order, to one bash (test/netns/host-shell.ts)
 * in a network namespace of its own, so the doc's fixed addresses (the demo's 127.0.0.1:7402,
 * an origin on :8080, s3rver on :9000) are free whatever else runs on the machine. What the
 * page says the reader has is made here, and only that: the demo (`npm start` runs
 * `node bin/canopy.cjs demo`), and nginx serving `videos/master.mp4` (an MP4 with its moov
 * at the end, made by ffmpeg) and `models/ckpt.bin` on 127.0.0.1:8080. HOME is a temporary
 * directory and no CANOPY_* or AWS_* variable is set (but AWS_EC2_METADATA_DISABLED). Every line must exit 0; a `--follow`
 * line, which runs until Ctrl-C, is started in the background and sent SIGINT once it has
 * published. Then a few results are checked (the MP4 analysed from the origin, the listing,
 * the file published from S3). `model-dir`, made by the doc in the checkout, is removed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { writeSample } from '../../src/demo/sample.js';
import { nginxArgs } from '../../bench/_servers.js';
// Sets the tests' own publisher key (CANOPY_KEY) on import: the user's is never touched.
import '../helpers/cli.js';
import { keptOnFailure } from '../helpers/temp-dirs.js';
import { docBlocks } from '../helpers/doc-blocks.js';
import { makeMedia } from '../helpers/media.js';
import { DEMO_ARGS, demoReady, ensureBuilt } from '../helpers/demo-process.js';
import { NetnsHarness, type Host } from './harness.js';
import { HostShell } from './host-shell.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = readFileSync(path.join(repo, 'docs', 'ORIGINS.md'), 'utf8');
const LINES = docBlocks(DOC)
  .filter((b) => b.lang === 'sh')
  .flatMap((b) => b.text.split('\n'))
  .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));

describe('docs/ORIGINS.md as written', () => {
  const dir = keptOnFailure('canopy-origins-doc-');
  let harness: NetnsHarness;
  let host: Host;
  let shell: HostShell;
  const outputs: { line: string; out: string }[] = [];

  before(async () => {
    ensureBuilt(repo);
    const www = path.join(dir.path, 'www');
    mkdirSync(path.join(www, 'videos'), { recursive: true });
    mkdirSync(path.join(www, 'models'));
    mkdirSync(path.join(dir.path, 'home'));
    copyFileSync((await makeMedia(dir.path, 4)).mp4, path.join(www, 'videos', 'master.mp4'));
    await writeSample(path.join(www, 'models', 'ckpt.bin'), 2_000_000, 'ckpt');
    spawnSync('chmod', ['-R', 'a+rX', dir.path]);
    harness = NetnsHarness.create([{ name: 'doc' }]);
    host = harness.host('doc');
    harness.spawn(host, ['nginx', ...nginxArgs(dir.path, www, 8080)], { stdio: 'ignore' });
    // No instance-metadata lookup: a credential chain that found nothing would try the link-local metadata address.
    const env: Record<string, string> = { PATH: process.env.PATH!, HOME: path.join(dir.path, 'home'), LANG: 'C.UTF-8', AWS_EC2_METADATA_DISABLED: 'true' };
    await demoReady(harness.spawn(host, [process.execPath, ...DEMO_ARGS], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    shell = new HostShell(harness, host, dir.path, { cwd: repo, env });
    // Job control: each background job of the doc (s3rver, started through npx) gets its own process group, killed whole at the end.
    await shell.run('set -m');
    const up = await shell.run('(for i in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:8080/models/ckpt.bin && exit 0; sleep 0.1; done; exit 1)');
    assert.equal(up.rc, 0, 'nginx answers on :8080');
  });
  after(async () => {
    // The doc's own background job (npx, and s3rver under it) belongs to this shell: its whole process group goes.
    await shell?.run('for p in $(jobs -p); do kill -- -$p; done 2>/dev/null; wait; true').catch(() => undefined);
    shell?.close();
    // Anything still in the namespace was started by this test (through the doc): ended by its id before the namespace goes.
    if (host) for (const pid of spawnSync('ip', ['netns', 'pids', host.ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) spawnSync('kill', [pid]);
    await harness?.stop();
    rmSync(path.join(repo, 'model-dir'), { recursive: true, force: true });
    rmSync('/tmp/canopy-s3', { recursive: true, force: true });
    dir.removeIfPassed();
  });

  it('runs every command of the page, each exiting 0', async () => {
    assert.ok(LINES.length >= 12, `found ${LINES.length} lines`);
    for (const line of LINES) {
      if (line.includes('--follow')) {
        // Runs until Ctrl-C: started as its own process group, stopped with SIGINT once it has published.
        const started = await shell.run(`setsid bash -c ${JSON.stringify(line)} > follow.out 2>&1 & echo $! > follow.pid`);
        assert.equal(started.rc, 0, started.out);
        const seen = await shell.run('(for i in $(seq 600); do grep -q "published as" follow.out && exit 0; sleep 0.1; done; cat follow.out; exit 1)', 120_000);
        assert.equal(seen.rc, 0, `${line}\n${seen.out}`);
        const stopped = await shell.run('kill -INT -- -$(cat follow.pid); while kill -0 $(cat follow.pid) 2>/dev/null; do sleep 0.1; done; cat follow.out; rm -f follow.out follow.pid');
        outputs.push({ line, out: stopped.out });
        continue;
      }
      const r = await shell.run(line);
      assert.equal(r.rc, 0, `${line}\n${r.out}`);
      outputs.push({ line, out: r.out });
    }
  });

  it('did what the page says', async () => {
    const of = (needle: string) => outputs.filter((o) => o.line.includes(needle)).map((o) => o.out);
    assert.match(of('videos/master.mp4')[0] ?? '', /analysed as mp4/);
    assert.match(of('curl http://127.0.0.1:7402/files/llama-70b/')[0] ?? '', /"name":"config.json"/);
    assert.match(of("Accept: text/html")[0] ?? '', /<a href="weights\/">/);
    assert.match(of('--follow')[0] ?? '', /published as [0-9a-f]{64}/);
    // What the last line published from S3 is served by the demo's edge: the bytes of model-dir/config.json.
    assert.equal((await shell.run('curl -sS http://127.0.0.1:7402/files/llama-config')).out, '{"layers":2}\n');
    assert.match(of('publish s3://models/llama-70b/ ')[0] ?? '', /directory: 2 file\(s\)/);
    assert.match(of('publish s3://models/llama-70b/config.json')[0] ?? '', /^[0-9a-f]{64}\n/);
  });
});
