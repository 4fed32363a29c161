/**
 * `npm install -g` of the packed tarball, docs/DEPLOY.md's `npm-host` block run as written
 * (bash, in a directory holding the tarball and `prebuilds/`, as the doc says): on Node.js 24 (the official build, scripts/node-runtime.sh; CANOPY_TEST_NODE_MAJOR
 * picks another line), into a fresh prefix, offline with an empty npm cache (the tarball
 * carries its dependencies; better-sqlite3's addon comes from the local prebuild that
 * scripts/sqlite-prebuild.sh writes, so nothing compiles and nothing is downloaded); the
 * host's own npm settings (prefix, cache, offline) come from the environment. Then a root and a member started from the installed command, a file
 * published and fetched from the member's edge, both stopped with SIGTERM, no process of the
 * prefix left. Prints the figures (tarball size, install time, cold start, idle RSS).
 *
 * A release test like the .deb's: it runs where asked (CANOPY_TEST_PACKAGE=1, .ci/run does,
 * after the Node 24 run has built and cached the addon for that runtime) and is skipped in a
 * plain `npm test`. It needs no root.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { writeSample } from '../../src/demo/sample.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';
import { lastJson, runCommand, tempDir } from '../helpers/cli.js';
import { docBlocks } from '../helpers/doc-blocks.js';
import { fileSha256, rssMiB, servedSha256 } from '../helpers/installed.js';
import { startNode, type StartedNode } from '../helpers/node-process.js';
import { waitFor } from '../helpers/wait.js';

const enabled = process.env.CANOPY_TEST_PACKAGE === '1';
const major = process.env.CANOPY_TEST_NODE_MAJOR ?? '24';
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const DOC_BLOCK = docBlocks(readFileSync('docs/DEPLOY.md', 'utf8')).find((b) => b.lang === 'sh' && b.tag === 'npm-host')?.text;
const ports = ['--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0'];

/** Processes whose command line names `dir` (the prefix's node processes). */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

describe('npm install -g of the packed tarball', { skip: enabled ? false : 'a release test: set CANOPY_TEST_PACKAGE=1 (.ci/run does)' }, () => {
  const dir = tempDir('canopy-npm-');
  const started: StartedNode[] = [];
  after(() => {
    for (const n of started) if (n.child.exitCode === null) n.child.kill('SIGKILL');
    dir.remove();
  });

  it(`installs offline on Node ${major} into a fresh prefix, runs a root and a member from it, and stops leaving no process`, async () => {
    const figures: Record<string, number> = {};
    const nodeDir = execFileSync('scripts/node-runtime.sh', [major], { encoding: 'utf8' }).trim();
    assert.ok(DOC_BLOCK, 'docs/DEPLOY.md has a sh npm-host block');
    const host = path.join(dir.path, 'host');
    const tgz = execFileSync('scripts/pack-npm.sh', [host], { encoding: 'utf8' }).trim();
    const prebuilds = path.join(host, 'prebuilds');
    const prebuild = execFileSync('scripts/sqlite-prebuild.sh', [prebuilds, nodeDir], { encoding: 'utf8', timeout: 1_800_000 }).trim();
    figures.tarballMiB = statSync(tgz).size / 2 ** 20;
    figures.prebuildMiB = statSync(prebuild).size / 2 ** 20;

    // A host with that Node on its PATH, its global prefix here, an npm cache of its own (empty) and no registry.
    const prefix = path.join(dir.path, 'prefix');
    const env = {
      PATH: `${prefix}/bin:${nodeDir}/bin:${process.env.PATH}`,
      npm_config_prefix: prefix,
      npm_config_cache: path.join(dir.path, 'npm-cache'),
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
    };
    const t0 = performance.now();
    const install = await runCommand('bash', ['-euc', `cd ${host}\n${DOC_BLOCK}`], { env, timeoutMs: 600_000 });
    assert.equal(install.code, 0, install.stdout + install.stderr);
    figures.installSeconds = (performance.now() - t0) / 1000;
    assert.equal(install.stdout.trim().split('\n').at(-1), version, 'canopy --version: the block ends with it');
    const addon = path.join(prefix, 'lib/node_modules/canopy/node_modules/better-sqlite3/build/Release');
    assert.equal(fileSha256(path.join(addon, 'better_sqlite3.node')), fileSha256(execFileSync('scripts/sqlite-for.sh', [nodeDir], { encoding: 'utf8' }).trim()), 'the addon is the prebuild');
    assert.ok(!existsSync(path.join(addon, 'obj.target')), 'nothing was compiled');

    const canopy = path.join(prefix, 'bin/canopy');
    assert.ok(existsSync(path.join(prefix, 'lib/node_modules/canopy/packaging/systemd/canopy-node@.service')), 'the units come with it');
    assert.equal(execFileSync('node', ['--version'], { env, encoding: 'utf8' }).trim().split('.')[0], `v${major}`);

    const key = loadOrCreateKeyFile(defaultKeyPath());
    let t = performance.now();
    const root = await startNode(['--root', '--data', `${dir.path}/root`, '--authorise-publisher', key.path, ...ports], { command: [canopy], env });
    started.push(root);
    figures.rootColdStartMs = performance.now() - t;
    const asAdmin = { ...env, CANOPY_API_TOKEN_FILE: `${dir.path}/root/api-token`, CANOPY_KEY: key.path };
    const tok = await runCommand(canopy, ['token', 'create', '--attrs', 'region=eu', '--to', root.ready.api, '--json'], { env: asAdmin });
    assert.equal(tok.code, 0, tok.stderr);
    t = performance.now();
    const edge = await startNode(['--join', `${root.ready.peer.host}:${root.ready.peer.port}`, '--data', `${dir.path}/edge1`, '--token', lastJson<{ token: string }>(tok.stdout).token, ...ports], { command: [canopy], env });
    started.push(edge);
    figures.nodeColdStartMs = performance.now() - t;
    await waitFor('member ready', async () => (await fetch(`${edge.ready.api}/readyz`)).status === 200, 60_000);
    figures.nodeReadyzMs = performance.now() - t;

    const file = path.join(dir.path, 'payload.bin');
    await writeSample(file, 5 * 2 ** 20 + 3, 'npm');
    const pub = await runCommand(canopy, ['publish', file, '--criteria', 'region=eu', '--to', root.ready.api, '--json'], { env: asAdmin });
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(await servedSha256(edge.ready.http, lastJson<{ contentId: string }>(pub.stdout).contentId), fileSha256(file));
    await new Promise((r) => setTimeout(r, 5_000));
    figures.idleRssMiBRoot = rssMiB(root.child.pid!);
    figures.idleRssMiBNode = rssMiB(edge.child.pid!);

    const exits = started.map((n) => exited(n.child));
    for (const n of started) n.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(exits), [0, 0], 'both stopped cleanly');
    await waitFor('no process of the prefix left', async () => processesUnder(prefix).length === 0, 10_000);
    console.log(JSON.stringify({ figures, node: major, loadavg: readFileSync('/proc/loadavg', 'utf8').trim() }));
  });
});
