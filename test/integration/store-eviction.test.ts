/**
 * The node-wide quota with real processes: a node holds a content it qualified for, is
 * restarted with --no-prefetch (so that content becomes a cache it may drop: it is unpinned,
 * attributes being attested by the root and not changeable by a restart), and then a client
 * reads a second content through the node that does not fit beside the old one under its
 * quota. The old content is evicted, the new one arrives whole, and the eviction shows in
 * `canopy store stats`.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { StoreStats } from '../../src/store/block-store.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 2 ** 20;


describe('quota and eviction on a running node', () => {
  const dir = tempDir('canopy-evict-');
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('evicts content the node no longer has to hold to make room for content it must hold', async () => {
    network.root = await network.spawnNode({ name: 'root', attrs: {} }, 0, ['--root']);
    const join = `${network.root.peer.host}:${network.root.peer.port}`;
    const nodeArgs = ['--join', join, '--quota', '40MiB', '--volume', path.join(dir.path, 'd0'), '--volume', path.join(dir.path, 'd1')];
    const publish = async (name: string, criteria: string) => {
      const file = path.join(dir.path, name);
      await writeSample(file, 24 * MIB, name);
      const res = await runCli(['publish', file, '--criteria', criteria, '--to', network.root!.api, '--block-size', '1MiB', '--json']);
      assert.equal(res.code, 0, res.stderr);
      return lastJson<{ contentId: string }>(res.stdout).contentId;
    };

    let node = await network.spawnNode({ name: 'n', attrs: { region: 'eu' } }, 1, nodeArgs);
    const a = await publish('a.bin', 'region=eu');
    const have = (id: string) => apiFetch(`${node.api}/api/contents/${id}`).then((r) => r.json() as Promise<{ local: { haveBlocks: number } }>).then((b) => b.local.haveBlocks);
    await waitFor('content a', async () => (await have(a)) === 24);
    const exited = once(node.process, 'exit');
    node.process.kill('SIGTERM');
    await exited;

    node = await network.spawnNode({ name: 'n', attrs: { region: 'eu' } }, 1, [...nodeArgs, '--no-prefetch']);
    network.nodes.push(node);
    assert.equal(await have(a), 24, 'a is still held after the restart, now unpinned');
    const b = await publish('b.bin', 'region=eu');
    // Nothing is prefetched now: a client reading b through the node makes it fetch b.
    const read = await runCommand('curl', ['-sS', '--fail', '-o', '/dev/null', `${node.http}/content/${b}`]);
    assert.equal(read.code, 0, read.stderr);
    await waitFor('content b', async () => (await have(b)) === 24);
    assert.equal(await have(a), 0, 'a was evicted');
    const res = await runCli(['store', 'stats', '--to', node.api, '--json']);
    const stats = lastJson<StoreStats>(res.stdout);
    assert.equal(stats.evictions, 1);
    assert.equal(stats.evictedBytes, 24 * MIB);
    assert.equal(stats.bytes, 24 * MIB);
    assert.equal(stats.quota, 40 * MIB);
  });
});
