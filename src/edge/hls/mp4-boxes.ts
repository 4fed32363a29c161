/**
 * ISO BMFF box headers (ISO 14496-12 §4.2): size, type, header length, with 64-bit sizes
 * and size 0 (to the end). Plus the two values HLS needs from a fragmented MP4: the
 * media timescale (mdhd) and each fragment's decode time (tfdt). Pure; truncated or
 * malformed input yields undefined rather than throwing.
 */
export interface BoxHeader {
  type: string;
  /** Total size including the header. */
  size: number;
  headerLength: number;
}

export function readBoxHeader(buf: Buffer, at: number, remaining: number): BoxHeader | undefined {
  if (at + 8 > buf.length) return undefined;
  let size = buf.readUInt32BE(at);
  const type = buf.toString('latin1', at + 4, at + 8);
  let headerLength = 8;
  if (size === 1) {
    if (at + 16 > buf.length) return undefined;
    const big = buf.readBigUInt64BE(at + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    size = Number(big);
    headerLength = 16;
  } else if (size === 0) {
    size = remaining;
  }
  if (size < headerLength || size > remaining) return undefined;
  return { type, size, headerLength };
}

/** The payload of the first box at `path` (e.g. ['moov','trak','mdia','mdhd']) inside `buf`. */
export function findBox(buf: Buffer, path: readonly string[]): Buffer | undefined {
  let at = 0;
  let end = buf.length;
  for (let depth = 0; depth < path.length; ) {
    const h = readBoxHeader(buf, at, end - at);
    if (!h) return undefined;
    if (h.type === path[depth]) {
      if (depth === path.length - 1) return buf.subarray(at + h.headerLength, at + h.size);
      end = at + h.size;
      at += h.headerLength;
      depth++;
    } else {
      at += h.size;
    }
  }
  return undefined;
}

/** Timescale of the first track's media header (mdhd, versions 0 and 1). */
export function mediaTimescale(moov: Buffer): number | undefined {
  const mdhd = findBox(moov, ['moov', 'trak', 'mdia', 'mdhd']);
  if (!mdhd || mdhd.length < 24) return undefined;
  const scale = mdhd[0] === 1 ? (mdhd.length >= 24 ? mdhd.readUInt32BE(20) : 0) : mdhd.readUInt32BE(12);
  return scale > 0 ? scale : undefined;
}

/** baseMediaDecodeTime of the first track fragment of a moof box (the whole box, header included). */
export function fragmentDecodeTime(moof: Buffer): number | undefined {
  const tfdt = findBox(moof, ['moof', 'traf', 'tfdt']);
  if (!tfdt || tfdt.length < 8) return undefined;
  if (tfdt[0] === 1) return tfdt.length >= 12 ? Number(tfdt.readBigUInt64BE(4)) : undefined;
  return tfdt.readUInt32BE(4);
}
