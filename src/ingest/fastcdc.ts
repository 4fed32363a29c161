/**
 * Content-defined chunking with FastCDC (Xia et al., USENIX ATC 2016): a rolling "gear" hash
 * over the bytes, and a cut wherever its top bits are all zero. Cut points depend only on
 * the bytes around them, so inserting or deleting bytes moves the cuts near the edit and no
 * others: a new version of a file shares every block but the few that cover the change.
 *
 * Choices (documented in docs/CHUNKING.md):
 * - 32-bit gear hash, so the window that decides a cut is the last 32 bytes; the mask tests
 *   the top bits, which depend on the whole window (the low bits see only the last few bytes).
 * - Normalised chunking, level 2: below `avg` a stricter mask (2 more bits) makes early cuts
 *   rare, past it a looser one (2 fewer bits) makes late cuts likely, so chunk sizes cluster
 *   around `avg`. Nothing is hashed before `min` (the cut cannot fall there), which also
 *   makes chunking faster.
 * - The gear table is derived from SHA-256 of a fixed label, so every node and every
 *   release cuts the same bytes into the same chunks (changing it would defeat dedup).
 */
import { createHash } from 'node:crypto';
import { CanopyError } from '../core/errors.js';

export interface CdcParams {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export const CDC_MIN_AVG = 4096;
export const CDC_MAX_MAX = 64 * 2 ** 20;

/** 256 pseudo-random 32-bit words, fixed forever: SHA-256("canopy-fastcdc-gear/" + i). */
export const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = createHash('sha256').update(`canopy-fastcdc-gear/${i}`).digest().readInt32BE(0);
  return table;
})();

/** The usual FastCDC shape: min = avg / 4, max = avg * 4. */
export function cdcParamsFor(avg: number): CdcParams {
  return checkCdcParams({ min: Math.floor(avg / 4), avg, max: avg * 4 });
}

export function checkCdcParams(p: CdcParams): CdcParams {
  const pow2 = (n: number) => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || p.avg < CDC_MIN_AVG) throw new CanopyError('ERR_USAGE', `chunking: average chunk size ${p.avg} must be a power of two of at least ${CDC_MIN_AVG}`);
  if (!Number.isSafeInteger(p.min) || p.min < 64 || p.min > p.avg) throw new CanopyError('ERR_USAGE', `chunking: minimum chunk size ${p.min} must be in 64..${p.avg}`);
  if (!Number.isSafeInteger(p.max) || p.max < p.avg || p.max > CDC_MAX_MAX) throw new CanopyError('ERR_USAGE', `chunking: maximum chunk size ${p.max} must be in ${p.avg}..${CDC_MAX_MAX}`);
  return p;
}

/** A mask of the top `bits` bits of a 32-bit word. */
function topMask(bits: number): number {
  const b = Math.max(1, Math.min(31, bits));
  return (~0 << (32 - b)) | 0;
}

interface Masks {
  small: number;
  large: number;
}

const maskCache = new Map<number, Masks>();

function masksFor(avg: number): Masks {
  let m = maskCache.get(avg);
  if (!m) {
    const bits = Math.round(Math.log2(avg));
    m = { small: topMask(bits + 2), large: topMask(bits - 2) };
    maskCache.set(avg, m);
  }
  return m;
}

/**
 * Length of the next chunk of `buf[start, end)`. With fewer than `max` bytes left the caller
 * must pass all that remains (end of input): the last chunk may be short.
 */
export function nextCut(buf: Uint8Array, start: number, end: number, p: CdcParams): number {
  let n = end - start;
  if (n <= p.min) return n;
  if (n > p.max) n = p.max;
  const normal = Math.min(p.avg, n);
  const { small, large } = masksFor(p.avg);
  const gear = GEAR;
  let fp = 0;
  let i = p.min;
  for (; i < normal; i++) {
    fp = ((fp << 1) + gear[buf[start + i]!]!) | 0;
    if ((fp & small) === 0) return i + 1;
  }
  for (; i < n; i++) {
    fp = ((fp << 1) + gear[buf[start + i]!]!) | 0;
    if ((fp & large) === 0) return i + 1;
  }
  return n;
}

/**
 * Cuts a byte stream into content-defined chunks. Memory stays at two maximum chunks: the
 * window is compacted only when its tail reaches the end, so each byte is moved about once.
 * Each chunk yielded is fresh memory (the consumer may keep it).
 */
export async function* cutChunks(source: AsyncIterable<Buffer | Uint8Array>, params: CdcParams): AsyncGenerator<Buffer> {
  const p = checkCdcParams(params);
  const buf = Buffer.allocUnsafe(2 * p.max);
  let start = 0;
  let end = 0;
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let pos = 0;
    while (pos < chunk.length) {
      if (end === buf.length) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const n = Math.min(buf.length - end, chunk.length - pos);
      chunk.copy(buf, end, pos, pos + n);
      end += n;
      pos += n;
      while (end - start >= p.max) {
        const len = nextCut(buf, start, end, p);
        yield Buffer.from(buf.subarray(start, start + len));
        start += len;
      }
    }
  }
  while (end > start) {
    const len = nextCut(buf, start, end, p);
    yield Buffer.from(buf.subarray(start, start + len));
    start += len;
  }
}
