/**
 * The Debian package as an operator meets it: built by `npm run package`, installed with
 * dpkg, its units checked by systemd-analyze, a root and a member started from the installed
 * files only (the units' ExecStart lines, as the units' User, with their EnvironmentFile),
 * a file published and fetched from the member's edge, then the package removed with both
 * processes still running: nothing of the runtime may be left running. Prints the figures
 * (package size, install time, cold start to ready, idle RSS).
 *
 * It installs a system package, so it runs only where asked (CANOPY_TEST_PACKAGE=1, as root:
 * .ci/run does) and is skipped elsewhere with that reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { writeSample } from '../../src/demo/sample.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';
import { lastJson, runCommand, tempDir } from '../helpers/cli.js';
import { fileSha256, rssMiB, servedSha256 } from '../helpers/installed.js';
import type { Ready } from '../helpers/node-process.js';
import { waitFor } from '../helpers/wait.js';

const enabled = process.env.CANOPY_TEST_PACKAGE === '1' && process.getuid?.() === 0;
const RUNTIME = '/usr/lib/canopy/node/bin/node';
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const deb = path.resolve(`release/canopy_${version}_amd64.deb`);

/** The unit's ExecStart, User and EnvironmentFile, with %i replaced by the instance. */
function unit(name: string, instance = ''): { exec: string[]; user: string; envFile?: string } {
  const text = readFileSync(`/lib/systemd/system/${name}`, 'utf8').replaceAll('%i', instance);
  const get = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
  return { exec: get('ExecStart')!.split(/\s+/), user: get('User')!, envFile: get('EnvironmentFile')?.replace(/^-/, '') };
}

/** Runs a unit's ExecStart as its user (systemd is not PID 1 here); resolves at the ready line. */
function startUnit(name: string, instance = ''): Promise<{ child: ChildProcess; ready: Ready; ms: number; log: () => string }> {
  const u = unit(name, instance);
  const env: Record<string, string> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (u.envFile && existsSync(u.envFile)) for (const m of readFileSync(u.envFile, 'utf8').matchAll(/^([A-Z_]+)=(.*)$/gm)) env[m[1]!] = m[2]!;
  const started = performance.now();
  const child = spawn('runuser', ['-u', u.user, '--', ...u.exec], { cwd: '/var/lib/canopy', env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.includes('"ready"') && resolve({ child, ready: JSON.parse(line) as Ready, ms: performance.now() - started, log: () => log }));
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${log}`)));
  });
}

function runtimePids(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/exe`) === RUNTIME;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const canopy = (args: string[], env: Record<string, string> = {}) => runCommand('/usr/bin/canopy', args, { env });

describe('the Debian package', { skip: enabled ? false : 'installs a system package: set CANOPY_TEST_PACKAGE=1 and run as root (.ci/run does)' }, () => {
  const dir = tempDir('canopy-deb-');
  const figures: Record<string, number> = {};
  after(() => {
    execFileSync('dpkg', ['--purge', 'canopy'], { stdio: 'ignore' });
    rmSync('/var/lib/canopy', { recursive: true, force: true });
    dir.remove();
  });

  it('builds with npm run package, installs, and its units verify', async () => {
    // dist/ is built by npm test before this; gzip keeps the test's build short (releases use xz).
    const build = await runCommand('bash', ['scripts/package.sh'], { env: { CANOPY_SKIP_BUILD: existsSync('dist/cli/main.js') ? '1' : '', CANOPY_DEB_COMPRESS: 'gzip' }, timeoutMs: 900_000 });
    assert.equal(build.code, 0, build.stderr);
    figures.packageMiB = statSync(deb).size / 2 ** 20;
    const t0 = performance.now();
    const install = await runCommand('dpkg', ['-i', deb]);
    assert.equal(install.code, 0, install.stderr);
    figures.installSeconds = (performance.now() - t0) / 1000;
    assert.match(execFileSync('getent', ['passwd', 'canopy'], { encoding: 'utf8' }), /^canopy:x:\d+:\d+::\/var\/lib\/canopy:\/usr\/sbin\/nologin/);
    for (const d of ['/etc/canopy', '/var/lib/canopy']) assert.ok(statSync(d).isDirectory(), d);
    assert.match((await canopy(['--version'])).stdout + (await canopy(['--help'])).stdout, /canopy|Usage/);
    const verify = await runCommand('systemd-analyze', ['verify', 'canopy-root.service', 'canopy-node@edge1.service']);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  });

  it('runs a root and a member from the installed files, publishes and serves a file', async () => {
    const key = loadOrCreateKeyFile(defaultKeyPath());
    writeFileSync('/etc/canopy/root.yaml', ['host: 127.0.0.1', 'peerPort: 0', 'apiPort: 0', 'httpPort: 0', 'ftpPort: 0', 's3Port: 0', 'authorisePublishers:', `  - ${key.publicKey}`].join('\n'));
    const root = await startUnit('canopy-root.service');
    figures.rootColdStartMs = root.ms;
    const tokenFile = '/var/lib/canopy/root/api-token';
    const asAdmin = { CANOPY_API_TOKEN_FILE: tokenFile };
    const tok = await canopy(['token', 'create', '--attrs', 'region=eu', '--to', root.ready.api, '--json'], asAdmin);
    assert.equal(tok.code, 0, tok.stderr);
    writeFileSync('/etc/canopy/edge1.yaml', [`join: ${root.ready.peer.host}:${root.ready.peer.port}`, 'host: 127.0.0.1', 'peerPort: 0', 'apiPort: 0', 'httpPort: 0', 'ftpPort: 0', 's3Port: 0'].join('\n'));
    writeFileSync('/etc/canopy/edge1.env', `CANOPY_JOIN_TOKEN=${lastJson<{ token: string }>(tok.stdout).token}\n`, { mode: 0o600 });
    const edge = await startUnit('canopy-node@.service', 'edge1');
    figures.nodeColdStartMs = edge.ms;
    await waitFor('member ready', async () => (await fetch(`${edge.ready.api}/readyz`)).status === 200, 60_000);

    const file = path.join(dir.path, 'payload.bin');
    await writeSample(file, 5 * 2 ** 20 + 3, 'deb');
    const pub = await canopy(['publish', file, '--criteria', 'region=eu', '--to', root.ready.api, '--json'], { ...asAdmin, CANOPY_KEY: key.path });
    assert.equal(pub.code, 0, pub.stderr);
    const { contentId } = lastJson<{ contentId: string }>(pub.stdout);
    assert.equal(await servedSha256(edge.ready.http, contentId), fileSha256(file));
    await new Promise((r) => setTimeout(r, 5_000));
    figures.idleRssMiBRoot = rssMiB(runtimePids().find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--root'))!);
    figures.idleRssMiBNode = rssMiB(runtimePids().find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('edge1'))!);
    // /usr/bin/canopy starts them with V8's worker pool at one thread (docs/OPERATIONS.md, "V8's worker threads").
    for (const p of runtimePids()) assert.ok(readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('--v8-pool-size=1'), readFileSync(`/proc/${p}/cmdline`, 'utf8'));

    // Removing the package stops both (they stop cleanly on SIGTERM) and leaves none running.
    const exits = [root, edge].map((n) => new Promise<number | null>((r) => n.child.once('exit', (code) => r(code))));
    const remove = await runCommand('dpkg', ['-r', 'canopy']);
    assert.equal(remove.code, 0, remove.stderr);
    assert.deepEqual(await Promise.all(exits), [0, 0], 'both stopped cleanly');
    assert.deepEqual(runtimePids(), []);
    assert.ok(!existsSync('/usr/bin/canopy') && !existsSync(RUNTIME));
    assert.ok(existsSync('/var/lib/canopy/root/api-token'), 'remove keeps the data');
    console.log(JSON.stringify({ figures, loadavg: readFileSync('/proc/loadavg', 'utf8').trim() }));
  });
});
