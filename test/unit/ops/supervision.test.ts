import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { makeConfig, type NodeConfig } from '../../../src/node/config.js';
import { createLogger, setLogLevel } from '../../../src/core/logger.js';
import { describePlan, planReload } from '../../../src/node/reload-plan.js';
import { readiness } from '../../../src/ops/readiness.js';
import { sdNotify } from '../../../src/ops/sd-notify.js';
import { waitFor } from '../../helpers/wait.js';

const base = (over: Partial<NodeConfig> = {}) => makeConfig({ dataDir: '/tmp/x', isRoot: true, ...over });

describe('readiness', () => {
  it('is ready only when synced with a usable volume', () => {
    assert.deepEqual(readiness({ synced: true, volumes: [{ state: 'ok' }, { state: 'failed' }] }), { ready: true, catalog: 'synced', volumes: { usable: 1, failed: 1, total: 2 } });
    assert.equal(readiness({ synced: false, volumes: [{ state: 'ok' }] }).ready, false);
    assert.equal(readiness({ synced: true, volumes: [{ state: 'failed' }] }).ready, false);
    assert.equal(readiness({ synced: true, volumes: [{ state: 'full' }] }).ready, true, 'a full volume still serves what it holds');
  });
});

describe('reload plan', () => {
  it('applies caps, FTP accounts and log level live and names every other change', () => {
    const plan = planReload(base(), base({ uploadCap: 1000, logLevel: 'debug', ftp: { users: [{ name: 'bob', password: 'pw' }], anonymous: false, requireTls: true }, fanout: 3, httpPort: 9 }));
    assert.deepEqual(describePlan(plan), { uploadCap: 1000, logLevel: 'debug', ftpUsers: ['bob'], ftpAnonymous: false });
    assert.deepEqual(plan.restart.sort(), ['fanout', 'ftp.requireTls', 'httpPort']);
    assert.ok(!JSON.stringify(describePlan(plan)).includes('pw'), 'passwords are never logged');
  });

  it('is empty for the same settings, whatever they are', () => {
    fc.assert(
      fc.property(fc.nat(10 ** 9), fc.nat(10 ** 9), fc.constantFrom('debug', 'info', 'warn', 'error' as const), (up, down, level) => {
        const c = base({ uploadCap: up, downloadCap: down, logLevel: level });
        const plan = planReload(c, { ...c, ftp: { ...c.ftp }, token: 'another' });
        assert.deepEqual(plan, { restart: [] });
      }),
    );
  });
});

describe('log level at run time', () => {
  it('changes what a logger and its existing children write', () => {
    const lines: string[] = [];
    const log = createLogger({}, 'info', (l) => lines.push(l));
    const child = log.child({ component: 'c' });
    child.debug('hidden');
    setLogLevel(log, 'debug');
    child.debug('shown');
    setLogLevel(log, 'error');
    log.warn('hidden too');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['shown']);
  });
});

describe('sd_notify', () => {
  it('sends nothing without NOTIFY_SOCKET', async () => {
    assert.deepEqual(await sdNotify({ READY: '1' }, { env: {} }), { outcome: 'no-socket' });
  });

  it('delivers READY=1 and STATUS to a unix datagram socket, and reports a missing binary', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'canopy-notify-'));
    const sock = path.join(dir, 'n.sock');
    const py = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True: print(s.recv(4096).decode().replace("\\n"," "),flush=True)', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: py.stdout });
      const got: string[] = [];
      await new Promise<void>((resolve) => lines.on('line', (l) => (l === 'bound' ? resolve() : got.push(l))));
      assert.deepEqual(await sdNotify({ READY: '1', STATUS: 'serving' }, { env: { ...process.env, NOTIFY_SOCKET: sock } }), { outcome: 'sent' });
      await waitFor('READY=1 read by the listener', async () => got.some((m) => m.includes('READY=1') && m.includes('STATUS=serving')), 10_000);
      const missing = await sdNotify({ READY: '1' }, { env: { ...process.env, NOTIFY_SOCKET: sock }, command: path.join(dir, 'no-such-binary') });
      assert.equal(missing.outcome, 'failed');
    } finally {
      py.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
