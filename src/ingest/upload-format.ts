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
import { blockPool, type Lease } from '../core/block-pool.js';

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

const HEADER_BYTES = 5;

function protocol(why: string): CanopyError {
  return new CanopyError('ERR_PUBLISH_MISMATCH', `publish upload: ${why}`);
}

/** The frame being filled: its type, where its bytes go, how many came. */
interface PartialFrame {
  type: number;
  out: Buffer;
  lease: Lease | undefined;
  got: number;
}

/**
 * The frames' decoder, fed bytes as they arrive. Pushed bytes are valid only during the call
 * (the root reads an upload into one reused buffer, http/taken-body.ts), so everything kept
 * is copied: a block's bytes straight into the block-pool buffer it is stored from (one copy),
 * headers and hashes into small buffers. Frames go to `emit` as soon as they are whole.
 */
export class UploadFrameDecoder {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerGot = 0;
  private body: PartialFrame | undefined;
  private sawManifest = false;

  constructor(private readonly emit: (frame: Frame) => void) {}

  /** Decodes `bytes` (copied: they may be overwritten after the call); throws ERR_PUBLISH_MISMATCH on a malformed body. */
  push(bytes: Buffer): void {
    let pos = 0;
    while (pos < bytes.length) {
      const body = this.body;
      if (body) {
        const k = Math.min(bytes.length - pos, body.out.length - body.got);
        bytes.copy(body.out, body.got, pos, pos + k);
        body.got += k;
        pos += k;
        if (body.got === body.out.length) this.complete(body);
        continue;
      }
      const k = Math.min(bytes.length - pos, HEADER_BYTES - this.headerGot);
      bytes.copy(this.header, this.headerGot, pos, pos + k);
      this.headerGot += k;
      pos += k;
      if (this.headerGot === HEADER_BYTES) {
        this.headerGot = 0;
        this.begin(this.header[0]!, this.header.readUInt32BE(1));
      }
    }
  }

  /** The body ended: throws if it ended inside a frame or without the manifest. */
  end(): void {
    if (this.body) throw protocol(`the body ended inside a frame (${this.body.got} of ${this.body.out.length} bytes)`);
    if (this.headerGot > 0) throw protocol(`the body ended inside a frame (${this.headerGot} of ${HEADER_BYTES} bytes)`);
    if (!this.sawManifest) throw protocol('the body ended without a manifest');
  }

  /** Gives back the buffer of a block frame left unfinished (the upload failed or was cut). */
  discard(): void {
    this.body?.lease?.release();
    this.body = undefined;
  }

  private begin(type: number, length: number): void {
    if (this.sawManifest) throw protocol('frames after the manifest');
    if (type === FRAME_BLOCK) {
      if (length === 0 || length > MAX_BLOCK_SIZE) throw protocol(`block frame of ${length} bytes`);
      const lease = blockPool.take(length);
      this.body = { type, out: lease.bytes, lease, got: 0 };
    } else if (type === FRAME_HELD) {
      if (length !== HASH_BYTES) throw protocol(`held-block frame of ${length} bytes (a SHA-256 is ${HASH_BYTES})`);
      this.body = { type, out: Buffer.allocUnsafe(HASH_BYTES), lease: undefined, got: 0 };
    } else if (type === FRAME_KEEPALIVE) {
      if (length !== 0) throw protocol(`keepalive frame of ${length} bytes (it carries none)`);
    } else if (type === FRAME_MANIFEST) {
      if (length > MAX_MANIFEST_BYTES) throw protocol(`manifest frame of ${length} bytes`);
      this.sawManifest = true;
      if (length === 0) this.emit({ type: 'manifest', data: Buffer.alloc(0) });
      else this.body = { type, out: Buffer.allocUnsafe(length), lease: undefined, got: 0 };
    } else {
      throw protocol(`unknown frame type 0x${type.toString(16)}`);
    }
  }

  private complete(body: PartialFrame): void {
    this.body = undefined;
    if (body.type === FRAME_BLOCK) this.emit({ type: 'block', data: body.out, lease: body.lease! });
    else if (body.type === FRAME_HELD) this.emit({ type: 'held', hash: body.out.toString('hex') });
    else this.emit({ type: 'manifest', data: body.out });
  }
}

/** Parses a publish body into frames (keepalives are read and dropped); the manifest frame must be last. */
export async function* readFrames(body: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Frame> {
  const queue: Frame[] = [];
  const decoder = new UploadFrameDecoder((f) => queue.push(f));
  try {
    for await (const v of body) {
      let failure: unknown;
      try {
        decoder.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      } catch (err) {
        failure = err;
      }
      // The frames before a malformed one first, as a reader of one frame at a time would see them.
      while (queue.length > 0) yield queue.shift()!;
      if (failure !== undefined) throw failure;
    }
    decoder.end();
    while (queue.length > 0) yield queue.shift()!;
  } finally {
    decoder.discard();
    for (const f of queue.splice(0)) if (f.type === 'block') f.lease.release();
  }
}
