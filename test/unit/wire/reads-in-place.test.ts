/**
 * Block payloads read in place (src/wire/frame-copier.ts readTarget/placed, reused-reads.ts):
 * while a payload is due, a dialled socket reads straight into the pooled segment that keeps
 * it. The decoder is driven here as node:net drives it (ask for the next read's buffer after
 * every read, then report the bytes read into it), over any cut of any frames; then over real
 * TCP and mutual-TLS sockets, which must deliver nearly all of a block's bytes in place on the
 * running Node (a Node that stopped honouring a function `onread.buffer` shows here).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockPool } from '../../../src/core/block-pool.js';
import { encodeFrame, type Frame } from '../../../src/wire/frame-codec.js';
import type { GetBlockBody } from '../../../src/wire/messages.js';
import { CopyingFrameDecoder, DIRECT_READ_MIN, SEGMENT_BYTES } from '../../../src/wire/frame-copier.js';
import { PeerConnection } from '../../../src/wire/peer-connection.js';
import { reusedReadsOf } from '../../../src/wire/reused-reads.js';
import { TcpTransport } from '../../../src/wire/tcp-transport.js';
import type { Transport } from '../../../src/wire/transport.js';
import { TlsTransport, type TlsCredentials } from '../../../src/security/tls-transport.js';
import { createCaCertificate, generateKeyPair, issueNodeCertificate, newNodeId } from '../../../src/security/x509.js';

/**
 * Reads `bytes` as a socket with `onread` would: each read of at most the next cut's length
 * goes into the buffer the decoder asked for (a segment's room), or else into one scratch
 * buffer scribbled over after the push. Returns the frames and how many bytes went in place.
 */
function readAsSocket(decoder: CopyingFrameDecoder, bytes: Buffer, cuts: number[]) {
  const scratch = Buffer.alloc(64 * 1024);
  const frames: Frame[] = [];
  let at = 0;
  let inPlace = 0;
  for (let k = 0; at < bytes.length; k++) {
    const want = Math.min(bytes.length - at, 1 + (cuts.length ? cuts[k % cuts.length]! : 70_000));
    const target = decoder.readTarget();
    if (target) {
      const n = bytes.copy(target, 0, at, at + Math.min(want, target.length));
      frames.push(...decoder.placed(target, n));
      inPlace += n;
      at += n;
    } else {
      const n = bytes.copy(scratch, 0, at, at + Math.min(want, scratch.length));
      frames.push(...decoder.push(scratch.subarray(0, n)));
      scratch.fill(0xee);
      at += n;
    }
  }
  return { frames, inPlace };
}

function pattern(size: number, k: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + k) % 251;
  return b;
}

async function credentials(): Promise<[TlsCredentials, TlsCredentials]> {
  const ca = generateKeyPair();
  const caCertPem = await createCaCertificate(ca, 'reads in place');
  const issue = async (): Promise<TlsCredentials> => {
    const k = generateKeyPair();
    const cert = await issueNodeCertificate({ nodeId: newNodeId(), publicKeyPem: k.publicKeyPem, caCertPem, caKeyPem: ca.privateKeyPem });
    return { key: k.privateKeyPem, cert, ca: caCertPem };
  };
  return [await issue(), await issue()];
}

/** Fetches `blocks` over `client` → `server`; returns how the dialled socket read them. */
async function fetchOver(server: Transport, client: Transport, blocks: Buffer[]) {
  const listener = await server.listen({ host: '127.0.0.1', port: 0 }, (stream) => {
    new PeerConnection(stream, async (req) => (req.type === 'get-block' ? { payload: blocks[(req.body as GetBlockBody).index]! } : undefined));
  });
  const stream = await client.connect({ host: '127.0.0.1', port: listener.port });
  const conn = new PeerConnection(stream, async () => undefined);
  try {
    const leased = blockPool.stats().leased;
    const replies = await Promise.all(blocks.map((_, index) => conn.request('get-block', { contentId: '0'.repeat(64), index })));
    replies.forEach((r, i) => assert.ok(r.payload.equals(blocks[i]!), `block ${i} arrived whole`));
    for (const r of replies) r.release();
    assert.equal(blockPool.stats().leased, leased, 'every segment went back');
    const reads = reusedReadsOf(stream)!;
    return { inPlace: reads.inPlaceBytes, reused: reads.reusedBytes };
  } finally {
    conn.destroy();
    await listener.close();
  }
}

describe('block payloads read in place', () => {
  it('decodes any cut of any frames read as a socket reads, large payloads mostly in place', () => {
    const frame = fc.record({ header: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), size: fc.oneof(fc.nat(300), fc.integer({ min: DIRECT_READ_MIN, max: 200_000 })) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 4 }), fc.array(fc.nat(40_000), { maxLength: 12 }), (specs, cuts) => {
        const payloads = specs.map((f, k) => pattern(f.size, k));
        const decoder = new CopyingFrameDecoder();
        const { frames, inPlace } = readAsSocket(decoder, Buffer.concat(specs.flatMap((f, i) => encodeFrame(f.header, payloads[i]))), cuts);
        assert.equal(frames.length, specs.length);
        frames.forEach((f, i) => {
          assert.deepEqual(f.header, JSON.parse(JSON.stringify(specs[i]!.header)));
          assert.ok(f.payload.equals(payloads[i]!));
          f.release();
        });
        assert.equal(decoder.pending, 0);
        // Of a payload, only the read that carries its head (≤ 64 KiB) and its last < DIRECT_READ_MIN bytes may go through the reused buffer.
        const bound = payloads.reduce((n, p) => n + Math.max(0, p.length - 64 * 1024 - DIRECT_READ_MIN), 0);
        assert.ok(inPlace >= bound, `${inPlace} bytes in place, at least ${bound} expected`);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses bytes placed anywhere but the room it gave, and forgets that room once bytes come the other way', () => {
    const decoder = new CopyingFrameDecoder();
    const [head, payload] = encodeFrame({ t: 'ok', re: 1 }, Buffer.alloc(SEGMENT_BYTES + 5, 7));
    decoder.push(head!);
    const target = decoder.readTarget()!;
    assert.equal(target.length, SEGMENT_BYTES);
    assert.throws(() => decoder.placed(Buffer.alloc(10), 10));
    decoder.push(payload!.subarray(0, 100));
    assert.throws(() => decoder.placed(target, 10), 'a stale room is refused');
    const next = decoder.readTarget()!;
    assert.equal(next.length, SEGMENT_BYTES - 100);
    payload!.copy(next, 0, 100, SEGMENT_BYTES);
    assert.deepEqual(decoder.placed(next, SEGMENT_BYTES - 100), []);
    assert.equal(decoder.readTarget(), undefined, 'five bytes due: read into the reused buffer');
    const [frame] = decoder.push(payload!.subarray(SEGMENT_BYTES));
    assert.ok(frame!.payload.equals(payload!));
    frame!.release();
  });

  it('over TCP and mutual TLS, a dialled connection takes nearly every byte of a block in place', async () => {
    const blocks = [3 * SEGMENT_BYTES + 5, 700_000, 10].map((n, k) => pattern(n, k));
    const total = blocks.reduce((n, b) => n + b.length, 0);
    const tcp = await fetchOver(new TcpTransport(), new TcpTransport(), blocks);
    const [a, b] = await credentials();
    const tls = await fetchOver(new TlsTransport({ credentials: () => a, isRevoked: () => false }), new TlsTransport({ credentials: () => b, isRevoked: () => false }), blocks);
    for (const [name, r] of [['tcp', tcp], ['tls', tls]] as const) {
      assert.ok(r.inPlace + r.reused >= total, `${name}: every byte read`);
      assert.ok(r.inPlace >= total * 0.9, `${name}: ${r.inPlace} of ${total} payload bytes read in place (${r.reused} through the reused buffer)`);
    }
  });
});
