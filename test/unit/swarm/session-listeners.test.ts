/**
 * Sessions of many contents share one peer connection: each adds one `close` listener and
 * removes it when it ends, so the count does not grow with the number of contents fetched
 * (issue 25: `MaxListenersExceededWarning` on every transferring node). Real loopback TCP,
 * real pool, real store; the holder answers `interest` with an empty bitfield.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlockStore } from '../../../src/store/block-store.js';
import { createLogger } from '../../../src/core/logger.js';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { SwarmSession } from '../../../src/swarm/swarm-session.js';
import { TokenBucket } from '../../../src/swarm/token-bucket.js';
import { PeerConnection } from '../../../src/wire/peer-connection.js';
import { PeerPool } from '../../../src/wire/peer-pool.js';
import { TcpTransport } from '../../../src/wire/tcp-transport.js';
import { tempDir } from '../../helpers/cli.js';
import { makeManifest } from '../../helpers/manifests.js';

describe('swarm session listeners', () => {
  it('leaves no close listener on a shared connection once its sessions end', async () => {
    const dir = tempDir('canopy-listeners-');
    const transport = new TcpTransport();
    const listener = await transport.listen({ host: '127.0.0.1', port: 0 }, (stream) => {
      new PeerConnection(stream, async (req) => {
        if (req.type === 'hello') return { body: { name: 'holder' } };
        if (req.type === 'interest') return { body: { blocks: 4, seed: false, uploads: 0, queuedBytes: 0, rate: 0, cap: 0 }, payload: new Bitfield(4).toBuffer() };
        return { body: {} };
      });
    });
    const pool = new PeerPool(transport, { hello: () => ({ nodeId: 'me', version: 1, name: 'me', record: {} }), attest: () => undefined }, async () => undefined);
    const store = new BlockStore(`${dir.path}/d`, [{ path: `${dir.path}/v` }]);
    const log = createLogger({}, 'error');
    const manifest = makeManifest({ size: 4 * 1024, blockSize: 1024, tracks: [{ offset: 0, length: 4 * 1024 }] });
    const address = { host: '127.0.0.1', port: listener.port };
    const holder = { nodeId: 'holder', peer: address, complete: false };
    try {
      const conn = await pool.get(address);
      const base = conn.listenerCount('close');
      const sessions = Array.from({ length: 30 }, (_, i) => {
        const s = new SwarmSession(i.toString(16).padStart(64, '0'), manifest, new Bitfield(4), {
          selfId: 'me', store, pool, log, findHolders: async () => [holder], onStored: () => undefined, onStuck: () => undefined,
          downloadBucket: new TokenBucket(0), maxInFlight: 4, maxInFlightPerPeer: 2, prefetch: true,
        });
        s.start();
        return s;
      });
      for (let i = 0; i < 100 && conn.listenerCount('close') < base + 30; i++) await sleep(20);
      assert.equal(conn.listenerCount('close'), base + 30, 'each session listens once');
      sessions.forEach((s) => s.stop());
      assert.equal(conn.listenerCount('close'), base);
    } finally {
      pool.closeAll();
      await listener.close();
      store.close();
      dir.remove();
    }
  });
});
