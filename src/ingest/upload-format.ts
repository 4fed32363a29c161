/**
 * The body of a signed publish (`POST /api/contents`, content type
 * application/vnd.canopy.publish): a sequence of frames, each one type byte, a u32 big-endian
 * length, then that many bytes. `B` frames carry the blocks in manifest order (holes are not
 * sent); an `H` frame stands for a block the root already holds (its 32-byte SHA-256 only:
 * a retried publish, `GET /api/blocks/:hash` asked first, sends only what is missing); one
 * final `M` frame carries the signed manifest as JSON. The publisher can thus hash and send
 * in one pass and sign at the end. An empty `K` frame carries nothing: the publisher sends
 * it when it has had nothing else to send for a while (a long run of zeros being read, a
 * slow origin), so the root's idle timeout does not cut an upload that is still working.
 */
import { CanopyError } from '../core/errors.js';
import { MAX_BLOCK_SIZE } from '../core/manifest.js';
import { blockPool, unpooled, type Lease } from '../core/block-pool.js';

export const PUBLISH_MEDIA_TYPE = 'application/vnd.canopy.publish';
export const FRAME_BLOCK = 0x42; // 'B'
export const FRAME_MANIFEST = 0x4d; // 'M'
export const FRAME_HELD = 0x48; // 'H'
export const FRAME_KEEPALIVE = 0x4b; // 'K'
const HASH_BYTES = 32;
export const MAX_MANIFEST_BYTES = 256 * 2 ** 20;

export function frameHeader(type: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = type;
  h.writeUInt32BE(length, 1);
  return h;
}

/** The keepalive frame: a `K` header of length 0. */
export function keepAliveFrame(): Buffer {
  return frameHeader(FRAME_KEEPALIVE, 0);
}

/** A block frame's bytes are a lease from the block pool (core/block-pool.ts): the reader releases it once stored. */
export type Frame = { type: 'block'; data: Buffer; lease: Lease } | { type: 'held'; hash: string } | { type: 'manifest'; data: Buffer };

/** The frame that stands for a block the root holds: its SHA-256 (hex) as 32 bytes. */
export function heldFrame(hash: string): Buffer {
  return Buffer.concat([frameHeader(FRAME_HELD, HASH_BYTES), Buffer.from(hash, 'hex')]);
}

function protocol(why: string): CanopyError {
  return new CanopyError('ERR_PUBLISH_MISMATCH', `publish upload: ${why}`);
}

/** Reads exact byte counts from a chunked stream. */
class ExactReader {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array>) {}

  /** `n` bytes, or undefined at a clean end of stream (no byte of them read). */
  async read(n: number): Promise<Buffer | undefined> {
    return (await this.readLease(n, (k) => unpooled(Buffer.allocUnsafe(k))))?.bytes;
  }

  /** `read` into a buffer from `take`, released here if the body ends or fails inside it. */
  async readLease(n: number, take: (length: number) => Lease): Promise<Lease | undefined> {
    const lease = take(n);
    try {
      const got = await this.fill(lease.bytes);
      if (got === 0) lease.release();
      return got === 0 ? undefined : lease;
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  private async fill(out: Buffer): Promise<number> {
    const n = out.length;
    let got = 0;
    while (got < n) {
      if (this.pos === this.chunk.length) {
        const next = await this.it.next();
        if (next.done) {
          if (got === 0) return 0;
          throw protocol(`the body ended inside a frame (${got} of ${n} bytes)`);
        }
        const v = next.value;
        this.chunk = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        this.pos = 0;
      }
      const k = Math.min(n - got, this.chunk.length - this.pos);
      this.chunk.copy(out, got, this.pos, this.pos + k);
      this.pos += k;
      got += k;
    }
    return got;
  }
}

/** Parses a publish body into frames (keepalives are read and dropped); the manifest frame must be last. */
export async function* readFrames(body: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Frame> {
  const reader = new ExactReader(body[Symbol.asyncIterator]());
  let sawManifest = false;
  for (;;) {
    const header = await reader.read(5);
    if (!header) break;
    if (sawManifest) throw protocol('frames after the manifest');
    const type = header[0]!;
    const length = header.readUInt32BE(1);
    if (type === FRAME_BLOCK) {
      if (length === 0 || length > MAX_BLOCK_SIZE) throw protocol(`block frame of ${length} bytes`);
      const lease = await reader.readLease(length, (k) => blockPool.take(k));
      // A header and then the end of the body (a cut upload): as coded as a cut inside the bytes.
      if (!lease) throw protocol(`the body ended inside a frame (0 of ${length} bytes)`);
      yield { type: 'block', data: lease.bytes, lease };
    } else if (type === FRAME_HELD) {
      if (length !== HASH_BYTES) throw protocol(`held-block frame of ${length} bytes (a SHA-256 is ${HASH_BYTES})`);
      const hash = await reader.read(length);
      if (!hash) throw protocol(`the body ended inside a frame (0 of ${HASH_BYTES} bytes)`);
      yield { type: 'held', hash: hash.toString('hex') };
    } else if (type === FRAME_KEEPALIVE) {
      if (length !== 0) throw protocol(`keepalive frame of ${length} bytes (it carries none)`);
    } else if (type === FRAME_MANIFEST) {
      if (length > MAX_MANIFEST_BYTES) throw protocol(`manifest frame of ${length} bytes`);
      sawManifest = true;
      const data = length === 0 ? Buffer.alloc(0) : await reader.read(length);
      if (!data) throw protocol(`the body ended inside a frame (0 of ${length} bytes)`);
      yield { type: 'manifest', data };
    } else {
      throw protocol(`unknown frame type 0x${type.toString(16)}`);
    }
  }
  if (!sawManifest) throw protocol('the body ended without a manifest');
}
