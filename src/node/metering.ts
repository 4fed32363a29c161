/**
 * Metering: counters bumped where bytes move, wrapped around the components so that the
 * peer service, the downloader's store, the block cache and the edge server stay unaware
 * of metrics.
 */
import type http from 'node:http';
import { byteLength, isOwnedPiece, type BlockBytes, type OwnedPiece } from '../core/block-bytes.js';
import type { Metrics } from '../ops/metrics.js';
import type { BlockStore, StripeHint } from '../store/block-store.js';
import type { Lease } from '../core/block-pool.js';
import type { BlockCache } from '../vfile/block-cache.js';
import type { RequestHandler } from '../wire/peer-connection.js';

/** Counts blocks and bytes sent to peers. */
export function countServed(metrics: Metrics, handler: RequestHandler): RequestHandler {
  return async (req) => {
    const reply = await handler(req);
    if (req.type !== 'get-block' || !reply) return reply;
    if (reply.pieces) return { ...reply, pieces: countPieces(metrics, reply.pieces, reply.body?.relayed === true) };
    if (reply.payload) {
      metrics.inc('canopy_blocks_served_total');
      metrics.inc('canopy_bytes_out_total', { class: 'peer' }, reply.payload.length);
    }
    return reply;
  };
}

/** A block sent in pieces is counted as its pieces go (a relay that aborts counts what it sent). */
async function* countPieces(metrics: Metrics, pieces: AsyncIterable<BlockBytes | OwnedPiece>, relayed: boolean): AsyncGenerator<BlockBytes | OwnedPiece> {
  for await (const piece of pieces) {
    const bytes = isOwnedPiece(piece) ? piece.bytes.length : byteLength(piece);
    metrics.inc('canopy_bytes_out_total', { class: 'peer' }, bytes);
    if (relayed) metrics.inc('canopy_swarm_relayed_bytes_total', {}, bytes);
    yield piece;
  }
  metrics.inc('canopy_blocks_served_total');
}

/** The store as the downloader sees it: every verified block it puts or takes in is counted as bytes in from peers. */
export function countingStore(metrics: Metrics, store: BlockStore): BlockStore {
  const received = (bytes: number): void => {
    metrics.inc('canopy_bytes_in_total', { class: 'peer' }, bytes);
    metrics.inc('canopy_blocks_received_total', { class: 'peer' });
  };
  return Object.create(store, {
    put: {
      value: async (data: BlockBytes, expected?: string, hint?: StripeHint) => {
        const hash = await store.put(data, expected, hint);
        received(byteLength(data));
        return hash;
      },
    },
    // A block written as it arrives (store/block-intake.ts) is counted once kept, as a put is.
    intake: {
      value: (hash: string, length: number, hint?: StripeHint) => {
        const intake = store.intake(hash, length, hint);
        const finish = intake.finish.bind(intake);
        intake.finish = async () => {
          await finish();
          received(length);
        };
        return intake;
      },
    },
  }) as BlockStore;
}

/** Counts reads of the shared block cache as hits or misses. */
export function countingCache(metrics: Metrics, cache: BlockCache): BlockCache {
  return Object.create(cache, {
    get: {
      value: (hash: string, length: number, load: () => Promise<Lease>) => {
        let missed = false;
        const result = cache.get(hash, length, () => {
          missed = true;
          return load();
        });
        metrics.inc('canopy_cache_requests_total', { result: missed ? 'miss' : 'hit' });
        return result;
      },
    },
  }) as BlockCache;
}

/** Edge traffic is counted from the socket (headers included). */
export function meterEdge(metrics: Metrics, server: http.Server, edge: 'http' | 's3' = 'http'): void {
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const before = socket.bytesWritten;
    res.once('close', () => {
      metrics.inc('canopy_http_requests_total', { status: `${Math.floor(res.statusCode / 100)}xx` });
      metrics.inc('canopy_bytes_out_total', { class: edge }, Math.max(0, socket.bytesWritten - before));
    });
  });
}
