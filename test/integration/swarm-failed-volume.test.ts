/**
 * A node whose only volume is read-only costs the others no more than a dead one (issue 24,
 * item 3): it stops fetching blocks it cannot keep instead of asking its peers for them
 * again and again, the healthy nodes complete, and a peer asking it for a block it cannot
 * have is told at once that its store failed, while what it held before is still served.
 * Real processes, a real tmpfs remounted read-only (root only; skipped with the reason otherwise).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalNetwork } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { sha256Hex } from '../../src/core/hash.js';
import { isCanopyError } from '../../src/core/errors.js';
import { findApiToken } from '../../src/client/api-token.js';
import { tempDir } from '../helpers/cli.js';
import { holding, publish, startNetwork } from '../helpers/edge-network.js';
import { credentialsOf, dialAs } from '../helpers/peer-as.js';
import { isRoot, Mounts } from '../helpers/volumes.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 2 ** 20;
const SIZE = 16 * MIB;

async function receivedBytes(api: string): Promise<number> {
  const text = await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${findApiToken()}` } }).then((r) => r.text());
  let n = 0;
  for (const m of text.matchAll(/^canopy_swarm_block_bytes_total\{outcome="\w+"\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

describe('a node with a read-only volume in a swarm', { skip: isRoot ? false : 'needs root to mount file systems' }, () => {
  const dir = tempDir('canopy-i24-');
  const mounts = new Mounts();
  let network: LocalNetwork;
  const disk = path.join(dir.path, 'disk');
  /** A content bad held before its volume turned read-only. */
  let held: { contentId: string; hash: string };

  before(async () => {
    mounts.tmpfs(disk, '64m');
    network = await startNetwork(path.join(dir.path, 'net'), ['--block-size', '1MiB'], [
      { spec: { name: 'n1', attrs: {} }, args: [] },
      { spec: { name: 'n2', attrs: {} }, args: [] },
      { spec: { name: 'bad', attrs: {} }, args: ['--volume', path.join(disk, 'vol')] },
    ]);
    const file = path.join(dir.path, 'held.bin');
    await writeSample(file, 2 * MIB, 'held-before');
    const contentId = await publish(network, file);
    await waitFor('bad to hold the first content', async () => ((h) => h.haveBlocks === h.totalBlocks)(await holding(network.nodes[2]!, contentId)), 60_000, 200);
    const manifest = (await fetch(`${network.root!.api}/api/contents/${contentId}/manifest`, { headers: { authorization: `Bearer ${findApiToken()}` } }).then((r) => r.json())) as { blocks: { hash: string }[] };
    held = { contentId, hash: manifest.blocks[0]!.hash };
    mounts.readOnly(disk);
  });
  after(async () => {
    await network?.stop();
    mounts.cleanup();
    dir.remove();
  });

  it('stops fetching what it cannot keep; the healthy nodes complete', async () => {
    const file = path.join(dir.path, 'payload.bin');
    await writeSample(file, SIZE, 'failed-volume');
    const contentId = await publish(network, file);
    const [n1, n2, bad] = network.nodes;
    await waitFor('the healthy nodes to complete', async () => (await Promise.all([n1!, n2!].map((n) => holding(n, contentId)))).every((h) => h.haveBlocks === h.totalBlocks), 120_000, 200);
    // Give a node that keeps asking time to show it.
    await sleep(3_000);
    const got = await receivedBytes(bad!.api);
    // It learns its store cannot keep blocks from the first ones; before, it fetched every
    // block again and again (many times the content).
    assert.ok(got <= 8 * MIB, `the read-only node received ${(got / MIB).toFixed(1)} MiB of a ${SIZE / MIB} MiB content`);

    // Asked (as n1) for a block it cannot have, it says at once that its store failed: the
    // asker turns elsewhere and drops it after two such answers, as it would a dead peer.
    const creds = credentialsOf(n1!.dataDir);
    const conn = await dialAs(creds, bad!.peer, creds.record);
    try {
      for (const pieces of [false, true]) {
        await assert.rejects(conn.request('get-block', { contentId, index: 0, ...(pieces ? { pieces } : {}) }, { timeoutMs: 5_000 }), (err) => isCanopyError(err, 'ERR_STORE_IO'));
      }
      // What its read-only volume held before is still served, intact.
      const reply = await conn.request('get-block', { contentId: held.contentId, index: 0 }, { timeoutMs: 5_000 });
      assert.equal(sha256Hex(reply.payload), held.hash);
    } finally {
      conn.destroy();
    }
  });
});
