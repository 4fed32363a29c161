/**
 * Frames on the peer wire: an 8-byte prefix (u32 header length, u32 payload length, big
 * endian), a UTF-8 JSON header, then raw payload bytes (a block, or nothing). The decoder
 * is incremental: it accepts any chunking of the byte stream and refuses oversized frames
 * before buffering them, so a hostile peer cannot make us allocate more than the limits.
 *
 * A frame's payload is handed on as `parts`, views of the chunks it arrived in (for a
 * 4 MiB block over TLS, ~256 records), without copying; `payload` joins them on first use
 * only. Joining every block into a fresh buffer was the receiver's largest cost
 * (`profile tls`: the copy 17.5 % and the garbage collector 20.8 % of its time); the swarm
 * hashes and stores the parts as they are (core/block-bytes.ts).
 */
import { CanopyError } from '../core/errors.js';
import { byteLength, joined, type BlockBytes } from '../core/block-bytes.js';
import type { Lease } from '../core/block-pool.js';

export const MAX_HEADER_BYTES = 16 * 2 ** 20;
export const MAX_PAYLOAD_BYTES = 64 * 2 ** 20;
export const PREFIX = 8;

export interface Frame {
  readonly header: Record<string, unknown>;
  /** The payload in one buffer (joined from `parts` on first use, once). */
  readonly payload: Buffer;
  /** The payload as the pieces it arrived in, never copied. */
  readonly parts: readonly Buffer[];
  /**
   * Gives the pooled buffers that hold `parts` back to the block pool (frame-copier.ts), once
   * nothing refers to them any more; a no-op for views of the stream's own chunks. Optional:
   * a frame nobody releases is collected.
   */
  release(): void;
}

/** A frame's header and payload pieces (also a reply whose payload came in several `part` frames). */
export class DecodedFrame implements Frame {
  private whole: Buffer | undefined;

  constructor(
    readonly header: Record<string, unknown>,
    readonly parts: readonly Buffer[],
    private readonly leases: readonly Lease[] = [],
  ) {}

  get payload(): Buffer {
    this.whole ??= this.parts.length === 0 ? EMPTY : joined(this.parts);
    return this.whole;
  }

  /** The pooled buffers behind the parts (a reply in `part` frames gathers its frames'). */
  get held(): readonly Lease[] {
    return this.leases;
  }

  release(): void {
    for (const l of this.leases) l.release();
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The frame as buffers: the first holds prefix and header together (one small buffer), the
 * rest are the payload. `payload` may be the pieces a block arrived in (a relayed piece):
 * they go out as they are, not joined.
 */
export function encodeFrame(header: Record<string, unknown>, payload: Uint8Array | BlockBytes = EMPTY): Buffer[] {
  const text = JSON.stringify(header);
  const jsonLength = Buffer.byteLength(text, 'utf8');
  const length = Array.isArray(payload) ? byteLength(payload) : (payload as Uint8Array).length;
  if (jsonLength > MAX_HEADER_BYTES) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame header of ${jsonLength} bytes exceeds ${MAX_HEADER_BYTES}`);
  if (length > MAX_PAYLOAD_BYTES) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame payload of ${length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const head = Buffer.allocUnsafe(PREFIX + jsonLength);
  head.writeUInt32BE(jsonLength, 0);
  head.writeUInt32BE(length, 4);
  head.write(text, PREFIX, 'utf8');
  if (length === 0) return [head];
  if (Array.isArray(payload)) return [head, ...(payload as readonly Buffer[])];
  const bytes = payload as Uint8Array;
  return [head, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)];
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly maxHeader = MAX_HEADER_BYTES,
    private readonly maxPayload = MAX_PAYLOAD_BYTES,
  ) {}

  /** Feeds bytes; returns every frame completed by them. Throws CanopyError on bad input. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= PREFIX) {
      const { headerLen, payloadLen } = checkPrefix(this.peek(PREFIX), this.maxHeader, this.maxPayload);
      const total = PREFIX + headerLen + payloadLen;
      if (this.buffered < total) break;
      this.skip(PREFIX);
      const header = parseHeader(headerLen <= this.chunks[0]!.length ? this.chunks[0]!.subarray(0, headerLen) : this.gather(headerLen));
      this.skip(headerLen);
      frames.push(new DecodedFrame(header, this.take(payloadLen)));
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  /** The first n buffered bytes in one buffer (a view when they lie in one chunk). */
  private peek(n: number): Buffer {
    return this.chunks[0]!.length >= n ? this.chunks[0]!.subarray(0, n) : this.gather(n);
  }

  /** A copy of the first n buffered bytes, which span chunks; the chunks stay as they are. */
  private gather(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const c of this.chunks) {
      if (filled === n) break;
      filled += c.copy(out, filled, 0, Math.min(c.length, n - filled));
    }
    return out;
  }

  private skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
  }

  /** The next n bytes as views of the chunks that hold them (no copy); they leave the buffer. */
  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        out.push(c);
        this.chunks.shift();
        left -= c.length;
      } else {
        out.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}

/** The two lengths of a frame's prefix, refused (ERR_WIRE_TOO_LARGE) beyond the limits before anything is buffered. */
export function checkPrefix(prefix: Buffer, maxHeader: number, maxPayload: number): { headerLen: number; payloadLen: number } {
  const headerLen = prefix.readUInt32BE(0);
  const payloadLen = prefix.readUInt32BE(4);
  if (headerLen === 0 || headerLen > maxHeader) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame header length ${headerLen} is outside 1..${maxHeader}`);
  if (payloadLen > maxPayload) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame payload length ${payloadLen} exceeds ${maxPayload}`);
  return { headerLen, payloadLen };
}

export function parseHeader(bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CanopyError('ERR_WIRE_PROTOCOL', 'frame header is not valid JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CanopyError('ERR_WIRE_PROTOCOL', 'frame header is not a JSON object');
  return value as Record<string, unknown>;
}
