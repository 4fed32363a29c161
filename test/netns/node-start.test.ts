/**
 * A cluster node's start error says why by itself (node-start.ts): how the process ended and
 * the end of its log, since its directory may be gone when the error is read. Plain child
 * processes stand in for nodes: no namespace or root needed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, it } from 'node:test';
import { reportEnv } from '../../src/demo/stuck-start.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { LOG_TAIL_LINES, waitReady } from './node-start.js';

/** A stand-in for `canopy node`: writes `lines` log lines to node.log in `dir`, then runs `then`. */
function fakeNode(dir: string, lines: number, then: string, env: NodeJS.ProcessEnv = process.env) {
  const script = `const fs = require('fs'); for (let i = 1; i <= ${lines}; i++) fs.appendFileSync(${JSON.stringify(path.join(dir, 'node.log'))}, 'log line ' + i + '\\n'); ${then}`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'], env });
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e as Error);
  assert.ok(err instanceof Error, 'the start fails');
  return err.message;
}

describe("a cluster node's start error", () => {
  const tempDir = tempDirs('canopy-node-start-');

  it('of a node that exits first names its exit code and carries the last lines of its log', async () => {
    const dir = tempDir();
    const message = await failure(waitReady(fakeNode(dir, 60, "console.log('starting'); process.exit(3)"), 'rb', dir));
    assert.match(message, /^node rb exited before it was ready \(exit code 3\); see .*node\.log\n/);
    const shown = message.match(/^log line \d+$/gm) ?? [];
    assert.equal(shown.length, LOG_TAIL_LINES);
    assert.equal(shown[0], `log line ${60 - LOG_TAIL_LINES + 1}`);
    assert.equal(shown.at(-1), 'log line 60');
  });

  it('of a node killed by a signal names the signal', async () => {
    const dir = tempDir();
    const message = await failure(waitReady(fakeNode(dir, 2, "process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000)"), 'm1', dir));
    assert.match(message, /^node m1 exited before it was ready \(signal SIGTERM\)/);
    assert.match(message, /log line 2$/);
  });

  it('of a node never ready says the ready timeout killed it, what it was doing, and its log', async () => {
    const dir = tempDir();
    const child = fakeNode(dir, 3, 'setInterval(function waitingForever() {}, 60_000)', { ...process.env, NODE_OPTIONS: reportEnv(dir, undefined) });
    const message = await failure(waitReady(child, 'rb', dir, 300));
    assert.match(message, /^node rb was not ready within 300 ms and was killed by the ready timeout \(signal SIGKILL\); see /);
    assert.match(message, /JS stack \[/);
    assert.match(message, /log line 1\nlog line 2\nlog line 3$/);
  });

  it('is not raised for a node that says ready: its addresses come back', async () => {
    const dir = tempDir();
    const ready = JSON.stringify({ event: 'ready', api: 'http://10.77.0.1:1', http: 'http://10.77.0.1:2', peer: { host: '10.77.0.1', port: 3 } });
    const child = fakeNode(dir, 1, `console.log('plain text first'); console.log(${JSON.stringify(ready)}); setTimeout(() => {}, 60_000)`);
    try {
      assert.deepEqual(await waitReady(child, 'n1', dir, 30_000), { api: 'http://10.77.0.1:1', http: 'http://10.77.0.1:2', peer: '10.77.0.1:3' });
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});
