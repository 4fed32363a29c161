/**
 * How a frame reaches the stream under the peer connection: a block in one buffer is handed
 * over in writes of its own (pieces of at most WRITE_PIECE_BYTES, views of the very buffer),
 * never in one writev with its head (node:tls joins
 * a writev's buffers into a fresh copy before encrypting: a copy and page faults per block
 * sent); a frame without payload, or with a small one, goes as one write; the pieces of a
 * relayed block go as one writev (one run of TLS records, not a record per piece). The
 * bytes decode to the same frames in every case.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { FrameDecoder, MAX_PAYLOAD_BYTES } from '../../../src/wire/frame-codec.js';
import { BULK_FRAME_BYTES, PeerConnection } from '../../../src/wire/peer-connection.js';
import { keepBulkWritesApart, WRITE_PIECE_BYTES } from '../../../src/wire/tls-writes.js';

/** A stream that records each `_write` / `_writev` call (the buffers handed over) and keeps the bytes. */
function recordingStream(): { stream: Duplex; calls: Buffer[][]; bytes: () => Buffer } {
  const calls: Buffer[][] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      cb();
    },
  });
  return { stream, calls, bytes: () => Buffer.concat(calls.flat()) };
}

const id = (n: number) => n.toString(16).padStart(64, '0');

describe('peer connection writes', () => {
  it('hands a block to the stream as its own write, uncopied; small frames as one write', async () => {
    const { stream, calls, bytes } = recordingStream();
    const conn = new PeerConnection(stream, async () => undefined);
    const block = Buffer.alloc(2 ** 20, 9);
    await conn.notify('cancel', { contentId: id(1), index: 3 });
    void conn.request('have', { contentId: id(2), index: 0 }, { payload: block }).catch(() => undefined);
    void conn.request('have', { contentId: id(3), index: 1 }, { payload: Buffer.alloc(100, 1) }).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const withBlock = calls.filter((c) => c.some((b) => b.length === block.length));
    assert.equal(withBlock.length, 1);
    assert.equal(withBlock[0]!.length, 1, 'the block shares no write with other buffers');
    assert.equal(withBlock[0]![0]!.buffer, block.buffer, 'the block is the caller’s buffer, not a copy');
    const frames = new FrameDecoder().push(bytes());
    // The small frame may overtake the block (bulk frames queue behind each other, write-priority.test.ts).
    assert.deepEqual(frames.map((f) => [f.header.t, f.payload.length]).sort(), [['cancel', 0], ['have', 100], ['have', block.length]].sort());
    assert.ok(frames.find((f) => f.payload.length === block.length)!.payload.equals(block));
    conn.destroy();
  });

  it('hands a large block over in pieces of at most WRITE_PIECE_BYTES, each alone on a TLS socket (ciphertext held per connection stays small)', async () => {
    const { stream, calls, bytes } = recordingStream();
    keepBulkWritesApart(stream, BULK_FRAME_BYTES); // as tls-transport.ts does for every TLS socket
    const conn = new PeerConnection(stream, async () => undefined);
    const block = Buffer.alloc(4 * WRITE_PIECE_BYTES + 100);
    for (let i = 0; i < block.length; i += 4096) block[i] = i % 251;
    await conn.request('have', { contentId: id(4), index: 2 }, { payload: block }).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const pieces = calls.filter((c) => c.some((b) => b.length >= BULK_FRAME_BYTES));
    assert.equal(pieces.length, 4, 'four whole pieces (the 100-byte tail is a small write)');
    for (const c of pieces) {
      assert.equal(c.length, 1, 'each piece is a write of its own');
      assert.ok(c[0]!.length <= WRITE_PIECE_BYTES);
      assert.equal(c[0]!.buffer, block.buffer, 'a view of the caller’s block, not a copy');
    }
    const frames = new FrameDecoder().push(bytes());
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.payload.equals(block));
    conn.destroy();
  });

  it('sends the pieces of a relayed block in one writev, in order', async () => {
    const { stream, calls, bytes } = recordingStream();
    const client = new PeerConnection(stream, async () => ({
      pieces: (async function* () {
        yield Array.from({ length: 8 }, (_, i) => Buffer.alloc(16 * 1024, i));
      })(),
    }));
    // A request arriving on the stream: the connection answers it with the pieces.
    const request = Buffer.from(JSON.stringify({ t: 'get-block', id: 1, contentId: id(4), index: 0, pieces: true }));
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(request.length, 0);
    stream.push(Buffer.concat([prefix, request]));
    const deadline = Date.now() + 5_000;
    while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const part = calls.find((c) => c.length > 2);
    assert.ok(part, `no writev of the pieces: ${calls.map((c) => c.length).join(',')}`);
    assert.equal(part.filter((b) => b.length === 16 * 1024).length, 8, 'the 8 pieces in one call, with their head');
    const frames = new FrameDecoder().push(bytes());
    assert.deepEqual(frames.map((f) => f.header.t), ['part', 'ok']);
    assert.deepEqual([...frames[0]!.payload.subarray(0, 16 * 1024 * 8)].filter((_, i) => i % (16 * 1024) === 0), [0, 1, 2, 3, 4, 5, 6, 7]);
    client.destroy();
  });

  it('rejects requests still waiting to be written when the connection closed, and nothing goes unhandled (which would end the process)', async () => {
    // A stream that never finishes a write: the second block waits for 'drain'.
    const stream = new Duplex({ read() {}, write() {}, highWaterMark: 1024 });
    const conn = new PeerConnection(stream, async () => undefined);
    const unhandled: unknown[] = [];
    const note = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', note);
    try {
      const first = conn.request('have', { contentId: id(5), index: 0 }, { payload: Buffer.alloc(BULK_FRAME_BYTES) });
      const second = conn.request('have', { contentId: id(6), index: 1 }, { payload: Buffer.alloc(BULK_FRAME_BYTES) });
      // A request without payload, written into the backed-up socket: it waits for 'drain' too.
      const third = conn.request('get-block', { contentId: id(7), index: 0 });
      await new Promise((r) => setImmediate(r));
      conn.destroy();
      for (const r of [first, second, third]) await assert.rejects(r, (e: unknown) => (e as { code?: string }).code === 'ERR_CONNECTION_CLOSED');
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it('ends a request whose frame could not be written with that error, and lets go of its signal', async () => {
    const { stream } = recordingStream();
    const conn = new PeerConnection(stream, async () => undefined);
    const signal = new AbortController().signal;
    const tooLarge = Buffer.allocUnsafe(MAX_PAYLOAD_BYTES + 1);
    await assert.rejects(conn.request('have', { contentId: id(8), index: 0 }, { payload: tooLarge, signal }), (e: unknown) => (e as { code?: string }).code === 'ERR_WIRE_TOO_LARGE');
    assert.equal(getEventListeners(signal, 'abort').length, 0, 'a signal shared by many requests keeps no listener for one never sent');
    assert.equal(conn.isClosed, false, 'the connection is still usable');
    conn.destroy();
  });
});
