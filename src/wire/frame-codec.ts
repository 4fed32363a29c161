/**
 * Frames on the peer wire: an 8-byte prefix (u32 header length, u32 payload length, big
 * endian), a UTF-8 JSON header, then raw payload bytes (a block, or nothing). The decoder
 * is incremental: it accepts any chunking of the byte stream and refuses oversized frames
 * before buffering them, so a hostile peer cannot make us allocate more than the limits.
 */
import { CanopyError } from '../core/errors.js';

export const MAX_HEADER_BYTES = 16 * 2 ** 20;
export const MAX_PAYLOAD_BYTES = 64 * 2 ** 20;
const PREFIX = 8;

export interface Frame {
  readonly header: Record<string, unknown>;
  readonly payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function encodeFrame(header: Record<string, unknown>, payload: Uint8Array = EMPTY): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  if (payload.length > MAX_PAYLOAD_BYTES) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const prefix = Buffer.allocUnsafe(PREFIX);
  prefix.writeUInt32BE(json.length, 0);
  prefix.writeUInt32BE(payload.length, 4);
  return payload.length > 0 ? [prefix, json, Buffer.from(payload.buffer, payload.byteOffset, payload.length)] : [prefix, json];
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
      const prefix = this.peek(PREFIX);
      const headerLen = prefix.readUInt32BE(0);
      const payloadLen = prefix.readUInt32BE(4);
      if (headerLen === 0 || headerLen > this.maxHeader) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame header length ${headerLen} is outside 1..${this.maxHeader}`);
      if (payloadLen > this.maxPayload) throw new CanopyError('ERR_WIRE_TOO_LARGE', `frame payload length ${payloadLen} exceeds ${this.maxPayload}`);
      const total = PREFIX + headerLen + payloadLen;
      if (this.buffered < total) break;
      const bytes = this.take(total);
      frames.push({ header: parseHeader(bytes.subarray(PREFIX, PREFIX + headerLen)), payload: bytes.subarray(PREFIX + headerLen) });
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      // One copy of exactly the frame's bytes; what follows it stays a view of its chunk.
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const used = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, used);
        filled += used;
        if (used === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(used);
      }
    }
    this.buffered -= n;
    return out;
  }
}

function parseHeader(bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CanopyError('ERR_WIRE_PROTOCOL', 'frame header is not valid JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CanopyError('ERR_WIRE_PROTOCOL', 'frame header is not a JSON object');
  return value as Record<string, unknown>;
}
