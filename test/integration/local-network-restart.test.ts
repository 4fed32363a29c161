/**
 * A node that hangs in its start is described, killed and started once more by LocalNetwork
 * (as systemd does past TimeoutStartSec); the description goes where CI prints it. The hang
 * is real: a module preloaded into the first process never lets the node's code load. A node
 * that exits before it is ready is reported with its exit and the last lines of its log.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { tempDir } from '../helpers/cli.js';

describe('a node that fails to start', () => {
  const dir = tempDir('canopy-restart-');
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  const saved = { timeout: process.env.CANOPY_READY_TIMEOUT_MS, log: process.env.CANOPY_STUCK_LOG };
  after(async () => {
    await network.stop();
    for (const [k, v] of [['CANOPY_READY_TIMEOUT_MS', saved.timeout], ['CANOPY_STUCK_LOG', saved.log]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    dir.remove();
  });

  it('is described, killed and started once more, and then serves', async () => {
    const marker = path.join(dir.path, 'hung-once');
    const hang = path.join(dir.path, 'hang-once.mjs');
    // First process: marks, then waits forever before the node's own code is loaded.
    writeFileSync(hang, `import { existsSync, writeFileSync } from 'node:fs';\nif (!existsSync(${JSON.stringify(marker)})) { writeFileSync(${JSON.stringify(marker)}, ''); setInterval(() => {}, 1e6); await new Promise(() => {}); }\n`);
    const stuckLog = path.join(dir.path, 'start-failures.log');
    process.env.CANOPY_READY_TIMEOUT_MS = '4000';
    process.env.CANOPY_STUCK_LOG = stuckLog;
    network.envFor.set('root', { NODE_OPTIONS: `--import ${hang}` });
    network.root = await network.spawnNode({ name: 'root', attrs: {} }, 0, ['--root']);
    assert.ok(existsSync(marker), 'the first process ran the hanging preload');
    const health = await apiFetch(`${network.root.api}/healthz`);
    assert.equal(health.status, 200);
    const text = readFileSync(stuckLog, 'utf8');
    assert.match(text, /node root was not ready within 4000 ms/);
    assert.match(text, /state S, CPU/, 'the hung process was described before it was killed');
    assert.equal(text.match(/^--- /gm)?.length, 1, 'one failure recorded: the second start was ready');
  });

  it('says how a node that exits before it is ready ended, with its last log lines', async () => {
    network.envFor.set('quits', { CANOPY_BLOCK_POOL: 'lots' });
    await assert.rejects(network.spawnNode({ name: 'quits', attrs: {} }, 1, ['--root']), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_DISTRIBUTION_FAILED');
      assert.match(err.message, /^node quits exited before it was ready \(exit code 1\); see .*node\.log; its last lines:\n/);
      assert.match(err.message, /CANOPY_BLOCK_POOL/, 'the log line that says why');
      return true;
    });
  });
});
