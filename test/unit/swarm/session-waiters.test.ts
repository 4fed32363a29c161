/**
 * A reader waiting for a block is answered once the block is held, however it came to be
 * held (issue 17, session 7; seen in issue 21's registry runs: a mirror's body broke with
 * "unexpected EOF" the moment the node logged `content complete`). The node's bitfield is
 * shared: another writer (a cancelled session settling, a publish) may set a block while a
 * session has a reader waiting for it; the copy this session then receives is dropped as a
 * duplicate, and the reader used to wait until the session ended and was then rejected.
 * Real loopback TCP, real pool, real store; the holder sends real blocks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { SwarmSession } from '../../../src/swarm/swarm-session.js';
import { TokenBucket } from '../../../src/swarm/token-bucket.js';
import { PeerConnection } from '../../../src/wire/peer-connection.js';
import { PeerPool } from '../../../src/wire/peer-pool.js';
import { TcpTransport } from '../../../src/wire/tcp-transport.js';
import { tempDir } from '../../helpers/cli.js';
import { makeManifest } from '../../helpers/manifests.js';

describe('swarm session readers', () => {
  it('a reader waiting for a block another writer stored gets it, and is not failed when the download ends', async () => {
    const dir = tempDir('canopy-waiters-');
    const data = [Buffer.alloc(1024, 1), Buffer.alloc(1024, 2)];
    const base = makeManifest({ size: 2048, blockSize: 1024, tracks: [{ offset: 0, length: 2048 }] });
    const manifest = { ...base, blocks: base.blocks.map((b, i) => ({ ...b, hash: sha256Hex(data[i]!) })) };
    // The holder answers block 1 only once the test has let it go (after the other writer stored it).
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const transport = new TcpTransport();
    const listener = await transport.listen({ host: '127.0.0.1', port: 0 }, (stream) => {
      new PeerConnection(stream, async (req) => {
        if (req.type === 'hello') return { body: { name: 'holder' } };
        if (req.type === 'interest') return { body: { blocks: 2, seed: true, uploads: 0, queuedBytes: 0, rate: 0, cap: 0 }, payload: Bitfield.full(2).toBuffer() };
        if (req.type === 'get-block') {
          const index = (req.body as { index: number }).index;
          if (index === 1) await held;
          return { body: {}, payload: data[index]! };
        }
        return { body: {} };
      });
    });
    const pool = new PeerPool(transport, { hello: () => ({ nodeId: 'me', version: 1, name: 'me', record: {} }), attest: () => undefined }, async () => undefined);
    const store = new BlockStore(`${dir.path}/d`, [{ path: `${dir.path}/v` }]);
    const bits = new Bitfield(2);
    const session = new SwarmSession('c'.repeat(64), manifest, bits, {
      selfId: 'me', store, pool, log: createLogger({}, 'error'), findHolders: async () => [{ nodeId: 'holder', peer: { host: '127.0.0.1', port: listener.port }, complete: true }],
      onStored: () => undefined, onStuck: () => undefined, downloadBucket: new TokenBucket(0), maxInFlight: 4, maxInFlightPerPeer: 2, prefetch: true,
    });
    try {
      const reader = session.fetchNow(1, Date.now() + 20_000);
      session.start();
      // Another writer of the node's bitfield keeps block 1 while this session still waits for its copy.
      await store.put(data[1]!, manifest.blocks[1]!.hash);
      bits.set(1);
      letGo();
      await session.complete;
      // The downloader retires a complete session at once (downloader.ts): the reader must not be failed by it.
      session.stop();
      assert.equal(await reader, undefined, 'the reader reads block 1 from the store');
      assert.equal(store.has(manifest.blocks[0]!.hash), true);
    } finally {
      session.stop();
      pool.closeAll();
      await listener.close();
      store.close();
      dir.remove();
    }
  });
});
