/**
 * What a supervisor sees of `canopy node`: READY=1 on systemd's notify socket (received by a
 * real unix datagram socket, as systemd would), /healthz versus /readyz (a member that cannot
 * reach its root is live but not ready, and ready once the root is back), and SIGHUP: FTP
 * accounts, caps and log level change without a restart, other changes are named as needing one.
 * The root sees a member that joined with its own admin token (canopy top).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../src/demo/local-network.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { startNode, type StartedNode } from '../helpers/node-process.js';
import { waitFor } from '../helpers/wait.js';

/** systemd's side of sd_notify: a unix datagram socket; every message is one line. */
function notifyListener(socketPath: string): Promise<{ child: ChildProcess; messages: string[] }> {
  const code = 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True: print(s.recv(4096).decode().replace("\\n"," ").strip(),flush=True)';
  const child = spawn('python3', ['-c', code, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => (line === 'bound' ? resolve({ child, messages }) : messages.push(line)));
    child.on('error', reject);
  });
}

const ftpList = (url: string, user: string) => runCommand('curl', ['-sS', '--max-time', '10', `${url}/`, '--user', user]);

describe('supervision: notify, readiness, reload', () => {
  const dir = tempDir('canopy-supervise-');
  const children: ChildProcess[] = [];
  let root: StartedNode;
  let notify: { child: ChildProcess; messages: string[] };
  const rootCfg = `${dir.path}/root.yaml`;
  const users = `${dir.path}/ftp-users`;
  const rootYaml = (extra: string[]) =>
    writeFileSync(rootCfg, ['root: true', `data: ${dir.path}/root`, 'peerPort: 0', 'apiPort: 0', 'httpPort: 0', 'ftpPort: 0', 's3Port: 0', `apiTokenFile: ${dir.path}/api-token`, 'authorisePublishers:', `  - ${loadOrCreateKeyFile(defaultKeyPath()).path}`, 'ftp:', `  usersFile: ${users}`, ...extra].join('\n'));

  before(async () => {
    process.env.CANOPY_API_TOKEN_FILE = `${dir.path}/api-token`;
    notify = await notifyListener(`${dir.path}/notify.sock`);
    children.push(notify.child);
    writeFileSync(users, 'alice:first-password\n');
    rootYaml(['logLevel: info']);
    root = await startNode(['--config', rootCfg], { env: { NOTIFY_SOCKET: `${dir.path}/notify.sock` } });
    children.push(root.child);
  });
  after(async () => {
    await Promise.all(children.map(stopProcess));
    dir.remove();
  });

  it('tells systemd READY=1 on its notify socket once it serves', async () => {
    await waitFor('READY=1 on the notify socket', async () => notify.messages.some((m) => m.split(' ').includes('READY=1')), 20_000);
    assert.ok(notify.messages.some((m) => m.includes(`MAINPID=${root.child.pid}`)), notify.messages.join(' | '));
    assert.equal((await fetch(`${root.ready.api}/healthz`)).status, 200);
    const ready = await fetch(`${root.ready.api}/readyz`);
    assert.equal(ready.status, 200, 'no token needed, like /healthz');
    assert.deepEqual(await ready.json(), { ready: true, catalog: 'synced', volumes: { usable: 1, failed: 0, total: 1 } });
  });

  it('reloads FTP accounts and the log level on SIGHUP, and names what needs a restart', async () => {
    assert.notEqual((await ftpList(root.ready.ftp, 'bob:second-password')).code, 0, 'bob has no account yet');
    assert.equal((await ftpList(root.ready.ftp, 'alice:first-password')).code, 0);
    writeFileSync(users, 'bob:second-password\n');
    rootYaml(['logLevel: debug', 'fanout: 4']);
    root.child.kill('SIGHUP');
    await waitFor('the reload log line', async () => root.stderr().includes('settings reloaded'), 20_000);
    const line = JSON.parse(root.stderr().split('\n').find((l) => l.includes('settings reloaded'))!) as { applied: Record<string, unknown>; needsRestart: string[] };
    assert.deepEqual(line.applied, { logLevel: 'debug', ftpUsers: ['bob'], ftpAnonymous: false });
    assert.deepEqual(line.needsRestart, ['fanout']);
    assert.equal((await ftpList(root.ready.ftp, 'bob:second-password')).code, 0, 'the new account logs in without a restart');
    assert.notEqual((await ftpList(root.ready.ftp, 'alice:first-password')).code, 0, 'the removed account no longer does');
    // A file that no longer parses changes nothing and says so.
    writeFileSync(rootCfg, 'root: true\nfanout: many\n');
    root.child.kill('SIGHUP');
    await waitFor('the refused reload', async () => root.stderr().includes('settings not reloaded'), 20_000);
    assert.equal((await ftpList(root.ready.ftp, 'bob:second-password')).code, 0);
  });

  it('keeps a member live but not ready while its root is away', async () => {
    const { token } = (await (await apiFetch(`${root.ready.api}/api/join-tokens`, { method: 'POST', body: JSON.stringify({ attrs: 'region=eu', ttl: '10m' }) })).json()) as { token: string };
    const args = ['--join', `${root.ready.peer.host}:${root.ready.peer.port}`, '--data', `${dir.path}/member`, '--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0'];
    const member = await startNode([...args, '--token', token]);
    await waitFor('member ready', async () => (await fetch(`${member.ready.api}/readyz`)).status === 200, 30_000);
    // The member joined as the docs say: its own admin token (<data>/api-token), its API on
    // loopback. The root still sees its store, asked over the member's link (canopy top).
    const top = await runCli(['top', '--json', '--to', root.ready.api]);
    assert.equal(top.code, 0, top.stderr);
    const seen = lastJson<{ nodes: { nodeId: string; health: string; store: { volumes: unknown[] } | null }[] }>(top.stdout).nodes;
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.health, 'up');
    assert.equal(seen[0]!.store?.volumes.length, 1);
    await stopProcess(member.child);
    // The root goes away: the member restarts (credentials kept), serves its API, is not ready.
    const rootPeer = root.ready.peer.port;
    await stopProcess(root.child);
    const again = await startNode(args);
    children.push(again.child);
    assert.equal((await fetch(`${again.ready.api}/healthz`)).status, 200);
    const r = await fetch(`${again.ready.api}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { ready: false, catalog: 'syncing', volumes: { usable: 1, failed: 0, total: 1 } });
    writeFileSync(rootCfg, ['root: true', `data: ${dir.path}/root`, `peerPort: ${rootPeer}`, 'apiPort: 0', 'httpPort: 0', 'ftpPort: 0', 's3Port: 0', `apiTokenFile: ${dir.path}/api-token`].join('\n'));
    root = await startNode(['--config', rootCfg]);
    children.push(root.child);
    await waitFor('member ready once the root is back', async () => (await fetch(`${again.ready.api}/readyz`)).status === 200, 60_000);
  });
});
