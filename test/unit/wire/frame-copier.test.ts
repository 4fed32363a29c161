/**
 * The decoder of sockets that read into one reused buffer (src/wire/frame-copier.ts): every
 * chunk is overwritten as soon as push() returns, as the socket's buffer is by its next read,
 * so a frame that kept a view instead of a copy decodes to garbage here. Payloads land in
 * block-pool segments, allocated as bytes arrive and given back by release().
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockPool } from '../../../src/core/block-pool.js';
import { CanopyError } from '../../../src/core/errors.js';
import { encodeFrame } from '../../../src/wire/frame-codec.js';
import type { GetBlockBody } from '../../../src/wire/messages.js';
import { CopyingFrameDecoder, SEGMENT_BYTES } from '../../../src/wire/frame-copier.js';
import { PeerConnection } from '../../../src/wire/peer-connection.js';
import { TcpTransport } from '../../../src/wire/tcp-transport.js';

/** Feeds `bytes` cut at `cuts` through one scratch buffer, scribbled over after each push. */
function feed(decoder: CopyingFrameDecoder, bytes: Buffer, cuts: number[]) {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].sort((a, b) => a - b);
  const scratch = Buffer.alloc(bytes.length);
  const frames = [];
  let last = 0;
  for (const p of points) {
    const chunk = scratch.subarray(0, p - last);
    bytes.copy(chunk, 0, last, p);
    frames.push(...decoder.push(chunk));
    chunk.fill(0xee);
    last = p;
  }
  return frames;
}

describe('copying frame decoder', () => {
  it('decodes any chunking of any frames from a buffer reused for every chunk', () => {
    const frame = fc.record({ header: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), payload: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const decoder = new CopyingFrameDecoder();
        const out = feed(decoder, Buffer.concat(frames.flatMap((f) => encodeFrame(f.header, f.payload))), cuts);
        assert.equal(out.length, frames.length);
        out.forEach((f, i) => {
          assert.deepEqual(f.header, JSON.parse(JSON.stringify(frames[i]!.header)));
          assert.deepEqual(new Uint8Array(f.payload), frames[i]!.payload);
        });
        assert.equal(decoder.pending, 0);
      }),
    );
  });

  it('puts a block into pooled segments, allocated as it arrives, and gives them back on release', () => {
    const payload = Buffer.from(Array.from({ length: 2 * SEGMENT_BYTES + 300_000 }, (_, i) => (i * 7) % 251));
    const bytes = Buffer.concat(encodeFrame({ t: 'ok', re: 1 }, payload));
    const decoder = new CopyingFrameDecoder();
    const before = blockPool.stats();
    // Only the first segment exists while the first bytes of the payload are in.
    assert.deepEqual(decoder.push(bytes.subarray(0, 20_000)), []);
    assert.equal(blockPool.stats().leased, before.leased + 1);
    assert.equal(decoder.pending, 20_000);
    const [frame] = feed(decoder, bytes.subarray(20_000), [16_384, 40_000, 1_500_000]);
    assert.deepEqual(frame!.parts.map((p) => p.length), [SEGMENT_BYTES, SEGMENT_BYTES, 300_000]);
    assert.deepEqual(Buffer.concat(frame!.parts as Buffer[]), payload);
    assert.equal(blockPool.stats().leased, before.leased + 3);
    frame!.release();
    assert.equal(blockPool.stats().leased, before.leased);
    assert.equal(decoder.pending, 0);
  });

  it('refuses oversized or garbage frames with a coded error, before allocating for them', () => {
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(10, 0);
    prefix.writeUInt32BE(2 ** 31, 4);
    const leased = blockPool.stats().leased;
    assert.throws(() => new CopyingFrameDecoder().push(prefix), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_WIRE_TOO_LARGE');
    assert.equal(blockPool.stats().leased, leased);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 200 }), (bytes) => {
        try {
          new CopyingFrameDecoder(1024, 1024).push(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof CanopyError && ['ERR_WIRE_PROTOCOL', 'ERR_WIRE_TOO_LARGE'].includes(err.code), String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is what a dialled connection decodes with: replies arrive whole and their buffers go back', async () => {
    const blocks = [3 * SEGMENT_BYTES + 5, 700_000, 10].map((n, k) => Buffer.from(Array.from({ length: n }, (_, i) => (i + k) % 253)));
    const server = new TcpTransport();
    const listener = await server.listen({ host: '127.0.0.1', port: 0 }, (stream) => {
      new PeerConnection(stream, async (req) => (req.type === 'get-block' ? { payload: blocks[(req.body as GetBlockBody).index]! } : undefined));
    });
    const conn = new PeerConnection(await new TcpTransport().connect({ host: '127.0.0.1', port: listener.port }), async () => undefined);
    try {
      const leased = blockPool.stats().leased;
      const replies = await Promise.all(blocks.map((_, index) => conn.request('get-block', { contentId: '0'.repeat(64), index })));
      replies.forEach((r, i) => assert.deepEqual(r.payload, blocks[i]));
      assert.equal(blockPool.stats().leased, leased + 4, 'three segments of the first block (its last 5 bytes too few to pool) and one of 700 KB; 10 bytes unpooled');
      for (const r of replies) r.release();
      assert.equal(blockPool.stats().leased, leased);
    } finally {
      conn.destroy();
      await listener.close();
    }
  });
});
