import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { BlockPool } from '../../../src/core/block-pool.js';
import { sendSlices } from '../../../src/edge/stream-body.js';
import type { Slice } from '../../../src/vfile/virtual-file.js';
import { WRITE_PIECE_BYTES } from '../../../src/wire/tls-writes.js';

const MiB = 2 ** 20;
const COUNT = 12;

/** COUNT pooled 1 MiB slices, slice i filled with byte i + 1 (the pool poisons what comes back). */
async function* tagged(pool: BlockPool): AsyncGenerator<Slice> {
  for (let i = 0; i < COUNT; i++) {
    const lease = pool.take(MiB);
    lease.bytes.fill(i + 1);
    yield { bytes: lease.bytes, pooled: true, release: () => lease.release() };
  }
}

/** A real TCP connection whose reader waits before reading: the sender's socket queue fills. */
async function slowReader(send: (socket: net.Socket) => Promise<void>): Promise<Buffer> {
  const server = net.createServer((socket) => void send(socket).catch(() => socket.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.pause();
  await sleep(300);
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  client.resume();
  await new Promise((r) => client.on('end', r));
  server.close();
  return Buffer.concat(chunks);
}

function wrongMiBs(got: Buffer): number[] {
  const wrong: number[] = [];
  for (let i = 0; i < COUNT; i++) if (!got.subarray(i * MiB, (i + 1) * MiB).equals(Buffer.alloc(MiB, i + 1))) wrong.push(i);
  return wrong;
}

describe('sendSlices', () => {
  it('gives each pooled slice back only once the socket is done with it: a slow reader gets every byte', async () => {
    const pool = new BlockPool(4 * MiB, true);
    const got = await slowReader((socket) => sendSlices(socket, tagged(pool)));
    assert.equal(got.length, COUNT * MiB);
    assert.deepEqual(wrongMiBs(got), []);
    assert.equal(pool.stats().leased, 0);
    assert.ok(pool.stats().reused > 0, 'buffers were reused while the reader was slow');
  });

  it('writes a slice larger than WRITE_PIECE_BYTES in pieces of its own buffer and gives it back after the last', async () => {
    const pool = new BlockPool(16 * MiB, true);
    const size = 2 * WRITE_PIECE_BYTES + 12345;
    async function* big(): AsyncGenerator<Slice> {
      for (let i = 0; i < 3; i++) {
        const lease = pool.take(size);
        for (let at = 0; at < size; at += 997) lease.bytes[at] = (at + i) % 256;
        yield { bytes: lease.bytes.subarray(0, size), pooled: true, release: () => lease.release() };
      }
    }
    const writes: number[] = [];
    const got = await slowReader((socket) => {
      const write = socket.write.bind(socket) as (chunk: Buffer, cb?: () => void) => boolean;
      (socket as { write: unknown }).write = (chunk: Buffer, cb?: () => void) => (writes.push(chunk.length), write(chunk, cb));
      return sendSlices(socket, big());
    });
    assert.equal(got.length, 3 * size);
    for (let i = 0; i < 3; i++) for (let at = 0; at < size; at += 997) assert.equal(got[i * size + at], (at + i) % 256, `slice ${i} byte ${at}`);
    assert.deepEqual(writes, Array.from({ length: 3 }, () => [WRITE_PIECE_BYTES, WRITE_PIECE_BYTES, 12345]).flat());
    assert.equal(pool.stats().leased, 0);
  });

  it('the poisoned pool exposes a sender that releases too early (on the next pull, as a stream pipeline would)', async () => {
    const pool = new BlockPool(4 * MiB, true);
    async function* releasedOnResume(): AsyncGenerator<Buffer> {
      for await (const s of tagged(pool)) {
        yield s.bytes;
        s.release(); // the bug: the socket may still hold these bytes
      }
    }
    const got = await slowReader((socket) => pipeline(Readable.from(releasedOnResume(), { objectMode: false, highWaterMark: 1 }), socket));
    assert.ok(wrongMiBs(got).length > 0, 'an early release must show as wrong bytes');
  });

  it('stops and releases what it holds when the reader goes away', async () => {
    const pool = new BlockPool(4 * MiB, true);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sent = new Promise<unknown>((resolve) => server.once('connection', (socket) => sendSlices(socket, tagged(pool)).then(resolve, resolve)));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.pause();
    await sleep(200);
    client.destroy();
    const outcome = await sent;
    server.close();
    assert.ok(outcome instanceof Error);
    // Writes the socket had accepted are released from their callbacks (with an error) as it closes.
    await sleep(50);
    assert.equal(pool.stats().leased, 0);
  });
});
