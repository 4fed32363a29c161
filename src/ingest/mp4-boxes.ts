/**
 * ISO-BMFF (MP4/MOV) box parsing, pure: box headers (32-bit, 64-bit `largesize`, and
 * size 0 = "to the end") and the movie header `mvhd` (timescale and duration). Every
 * malformed input throws ContainerError with what was wrong and where.
 */
import { ContainerError } from './analysis.js';

export interface BoxHeader {
  readonly type: string;
  readonly offset: number;
  /** Whole box, header included. */
  readonly size: number;
  readonly headerSize: number;
}

/** Box types that may open an MP4/MOV file (the first box), used to sniff the format. */
export const LEADING_TYPES = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pdin']);

function isTypeChar(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

/**
 * Reads the box header at `at` in `buf`, where the box may extend to `limit` bytes from `at`
 * (the rest of the file or of the parent box). `base` is added to offsets in messages.
 */
export function parseBoxHeader(buf: Uint8Array, at: number, limit: number, base = 0): BoxHeader {
  const where = base + at;
  if (limit < 8 || buf.length < at + 8) throw new ContainerError(`mp4: box header at ${where} is cut short (${Math.min(limit, buf.length - at)} bytes left)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 4; i < 8; i++) if (!isTypeChar(buf[at + i]!)) throw new ContainerError(`mp4: box at ${where} has a non-text type`);
  const type = String.fromCharCode(buf[at + 4]!, buf[at + 5]!, buf[at + 6]!, buf[at + 7]!);
  let size = view.getUint32(at);
  let headerSize = 8;
  if (size === 1) {
    if (limit < 16 || buf.length < at + 16) throw new ContainerError(`mp4: box '${type}' at ${where} has a 64-bit size that is cut short`);
    const big = view.getBigUint64(at + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new ContainerError(`mp4: box '${type}' at ${where} claims an impossible size`);
    size = Number(big);
    headerSize = 16;
  } else if (size === 0) {
    size = limit;
  }
  if (size < headerSize) throw new ContainerError(`mp4: box '${type}' at ${where} claims ${size} bytes, less than its header`);
  if (size > limit) throw new ContainerError(`mp4: box '${type}' at ${where} claims ${size} bytes but only ${limit} remain (truncated)`);
  return { type, offset: where, size, headerSize };
}

export interface MovieHeader {
  readonly timescale: number;
  readonly duration: number;
}

/** Parses the payload of an `mvhd` box (after its 8- or 16-byte header). */
export function parseMvhd(payload: Uint8Array): MovieHeader {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length < 4) throw new ContainerError('mp4: mvhd is cut short');
  const version = payload[0]!;
  let timescale: number;
  let duration: number;
  if (version === 0) {
    if (payload.length < 20) throw new ContainerError('mp4: mvhd (version 0) is cut short');
    timescale = view.getUint32(12);
    duration = view.getUint32(16);
  } else if (version === 1) {
    if (payload.length < 32) throw new ContainerError('mp4: mvhd (version 1) is cut short');
    timescale = view.getUint32(20);
    duration = Number(view.getBigUint64(24));
  } else {
    throw new ContainerError(`mp4: mvhd has unknown version ${version}`);
  }
  if (timescale === 0) throw new ContainerError('mp4: mvhd timescale is 0');
  return { timescale, duration };
}

/** Finds `mvhd` among the children of a `moov` payload and parses it. */
export function findMovieHeader(moovPayload: Uint8Array, base = 0): MovieHeader {
  let at = 0;
  while (at < moovPayload.length) {
    const box = parseBoxHeader(moovPayload, at, moovPayload.length - at, base);
    if (box.type === 'mvhd') return parseMvhd(moovPayload.subarray(at + box.headerSize, at + box.size));
    at += box.size;
  }
  throw new ContainerError('mp4: moov has no mvhd (movie header)');
}
