/**
 * A frame whose payload is a pooled piece goes to TLS as one write, its head put in the room
 * the pool keeps before every leased buffer (core/block-pool.ts, peer-connection.ts); only
 * when TLS encrypts the write at once, so several connections may send the same piece with
 * their own heads. Real TLS sockets (TlsTransport, as between nodes), real frames decoded.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { isPageAligned } from '../../../src/core/aligned-memory.js';
import { BlockPool, MIN_POOLED_BYTES, ROOM_BYTES, withHeadInRoom } from '../../../src/core/block-pool.js';
import { TlsTransport, type TlsCredentials } from '../../../src/security/tls-transport.js';
import { createCaCertificate, generateKeyPair, issueNodeCertificate, newNodeId } from '../../../src/security/x509.js';
import { FrameDecoder, type Frame } from '../../../src/wire/frame-codec.js';
import { PeerConnection } from '../../../src/wire/peer-connection.js';
import { encryptsAtOnce } from '../../../src/wire/tls-writes.js';

const KiB = 1024;
const id = (n: number) => n.toString(16).padStart(64, '0');

async function credentials(): Promise<[TlsCredentials, TlsCredentials]> {
  const ca = generateKeyPair();
  const caCertPem = await createCaCertificate(ca, 'head in room');
  const issue = async (): Promise<TlsCredentials> => {
    const k = generateKeyPair();
    const cert = await issueNodeCertificate({ nodeId: newNodeId(), publicKeyPem: k.publicKeyPem, caCertPem, caKeyPem: ca.privateKeyPem });
    return { key: k.privateKeyPem, cert, ca: caCertPem };
  };
  return [await issue(), await issue()];
}

interface Link {
  conn: PeerConnection;
  /** Each write the sender's socket handed its handle: the bytes' length. */
  writes: number[];
  /** Frames decoded from what the other side received. */
  frames: Frame[];
  arrived: (n: number) => Promise<void>;
}

/** `count` TLS connections between two transports; each sender a PeerConnection whose handle writes are counted. */
async function links(count: number): Promise<{ links: Link[]; close: () => Promise<void> }> {
  const [a, b] = await credentials();
  const server = new TlsTransport({ credentials: () => a, isRevoked: () => false });
  const client = new TlsTransport({ credentials: () => b, isRevoked: () => false });
  const accepted: Duplex[] = [];
  let wake = () => {};
  const listener = await server.listen({ host: '127.0.0.1', port: 0 }, (s) => (accepted.push(s), wake()));
  const out: Link[] = [];
  for (let i = 0; i < count; i++) {
    const socket = await client.connect({ host: '127.0.0.1', port: listener.port });
    while (accepted.length <= i) await new Promise<void>((r) => (wake = r));
    const writes: number[] = [];
    const handle = (socket as unknown as { _handle: Record<string, (...a: unknown[]) => unknown> })._handle;
    for (const name of ['writeBuffer', 'writev'] as const) {
      const original = handle[name]!;
      handle[name] = function (this: unknown, req: unknown, data: unknown, ...rest: unknown[]) {
        writes.push(Array.isArray(data) ? data.reduce((n: number, c) => n + (Buffer.isBuffer(c) ? c.length : 0), 0) : (data as Buffer).length);
        return original.call(this, req, data, ...rest);
      };
    }
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    let waiting: { n: number; resolve: () => void } | undefined;
    accepted[i]!.on('data', (d: Buffer) => {
      frames.push(...decoder.push(Buffer.from(d)));
      if (waiting && frames.length >= waiting.n) waiting.resolve();
    });
    const arrived = (n: number) => (frames.length >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { n, resolve })));
    out.push({ conn: new PeerConnection(socket, async () => undefined), writes, frames, arrived });
  }
  return { links: out, close: async () => (out.forEach((l) => l.conn.destroy()), await listener.close()) };
}

describe('a frame head in the room before a pooled piece', () => {
  it('is joined to exactly a lease’s bytes, page alignment kept, and to nothing else', () => {
    const pool = new BlockPool(8 * 2 ** 20, true);
    const lease = pool.take(MIN_POOLED_BYTES);
    lease.bytes.fill(7);
    assert.ok(isPageAligned(lease.bytes), 'O_DIRECT can still write the leased bytes');
    const head = Buffer.from('head of a frame');
    const joined = withHeadInRoom(head, lease.bytes)!;
    assert.equal(joined.buffer, lease.bytes.buffer, 'the piece is not copied');
    assert.equal(joined.byteOffset + head.length, lease.bytes.byteOffset);
    assert.ok(joined.subarray(0, head.length).equals(head));
    assert.ok(joined.subarray(head.length).equals(Buffer.alloc(MIN_POOLED_BYTES, 7)));
    assert.equal(withHeadInRoom(Buffer.alloc(ROOM_BYTES + 1), lease.bytes), undefined, 'a head larger than the room');
    assert.equal(withHeadInRoom(head, lease.bytes.subarray(KiB)), undefined, 'a view inside the lease: the bytes before it are the lease’s data');
    assert.equal(withHeadInRoom(head, Buffer.alloc(MIN_POOLED_BYTES)), undefined, 'an unpooled buffer');
    assert.equal(withHeadInRoom(head, pool.take(100).bytes), undefined, 'too small to be pooled');
    // The room is the lease's own: poison mode checks it like the rest when the buffer comes back.
    lease.release();
    const again = pool.take(MIN_POOLED_BYTES);
    assert.equal(again.bytes.byteOffset, lease.bytes.byteOffset);
    again.release();
  });

  it('goes to TLS in one write with its piece when the socket is idle, in two behind other writes; frames decode the same', async () => {
    const pool = new BlockPool(8 * 2 ** 20, true);
    const { links: [link], close } = await links(1);
    try {
      const piece = pool.take(256 * KiB);
      for (let i = 0; i < piece.bytes.length; i++) piece.bytes[i] = (i * 31) & 0xff;
      const copy = Buffer.from(piece.bytes);
      const sending = link!.conn.request('have', { contentId: id(1), index: 0 }, { payload: piece.bytes }).catch(() => undefined);
      await link!.arrived(1);
      const inOne = link!.writes.filter((n) => n > piece.bytes.length && n < piece.bytes.length + 200);
      assert.equal(inOne.length, 1, `head and piece in one write (writes: ${link!.writes.join(', ')})`);
      assert.equal(link!.writes.length, 1);
      // Queued behind a write still in flight: head and piece separately, bytes unchanged.
      link!.writes.length = 0;
      void link!.conn.request('have', { contentId: id(2), index: 1 }, { payload: Buffer.alloc(100, 1) }).catch(() => undefined);
      void link!.conn.request('have', { contentId: id(3), index: 2 }, { payload: piece.bytes }).catch(() => undefined);
      await link!.arrived(3);
      assert.ok(link!.writes.includes(piece.bytes.length), `the piece alone behind a small frame (writes: ${link!.writes.join(', ')})`);
      assert.deepEqual(link!.frames.map((f) => [f.header.contentId, f.payload.length]), [[id(1), 256 * KiB], [id(2), 100], [id(3), 256 * KiB]]);
      for (const f of [link!.frames[0]!, link!.frames[2]!]) assert.ok(f.payload.equals(copy));
      assert.ok(piece.bytes.equals(copy), 'the piece itself is untouched');
      void sending;
      piece.release();
    } finally {
      await close();
    }
  });

  it('lets several connections send the same piece at once, each with its own head', async () => {
    const pool = new BlockPool(8 * 2 ** 20, true);
    const { links: all, close } = await links(3);
    try {
      const pieces = [pool.take(256 * KiB), pool.take(256 * KiB)];
      pieces.forEach((p, k) => p.bytes.fill(k + 1));
      // Interleaved: each round, every connection sends each piece with its own request id.
      for (let round = 0; round < 4; round++) {
        for (const [k, p] of pieces.entries()) for (const [c, l] of all.entries()) void l.conn.request('have', { contentId: id(100 * c + 10 * round + k), index: round }, { payload: p.bytes }).catch(() => undefined);
        await new Promise((r) => setImmediate(r));
      }
      for (const [c, l] of all.entries()) {
        await l.arrived(8);
        const got = l.frames.map((f) => [f.header.contentId, f.header.index, f.payload[0], f.payload.length]);
        const want = [0, 1, 2, 3].flatMap((round) => [0, 1].map((k) => [id(100 * c + 10 * round + k), round, k + 1, 256 * KiB]));
        assert.deepEqual(got, want);
        for (const f of l.frames) assert.ok(f.payload.equals(Buffer.alloc(256 * KiB, f.payload[0])));
      }
      assert.ok(all.some((l) => l.writes.some((n) => n > 256 * KiB && n < 256 * KiB + 200)), 'some went as one write');
      for (const p of pieces) p.release();
    } finally {
      await close();
    }
  });

  it('is not taken on a stream that is not TLS, or a TLS socket with writes waiting', async () => {
    const { links: [link], close } = await links(1);
    try {
      const socket = (link!.conn as unknown as { stream: Duplex }).stream;
      assert.equal(encryptsAtOnce(socket), true);
      socket.cork();
      assert.equal(encryptsAtOnce(socket), false);
      socket.uncork();
      socket.write(Buffer.alloc(64 * KiB));
      assert.equal(encryptsAtOnce(socket), false, 'a write in flight');
    } finally {
      await close();
    }
    const { PassThrough } = await import('node:stream');
    assert.equal(encryptsAtOnce(new PassThrough()), false);
  });
});
