/**
 * Attribute bitmaps: bit i is set when the node has attribute i of the dictionary. Stored
 * as 32-bit words, as short as the highest set bit needs; a missing word reads as zero, so
 * bitmaps built against an older (shorter) dictionary stay valid as it grows.
 */
import { CanopyError } from '../core/errors.js';

export type Bitmap = Uint32Array;

export const EMPTY: Bitmap = new Uint32Array(0);

export function hasBit(b: Bitmap, bit: number): boolean {
  const w = b[bit >>> 5];
  return w !== undefined && (w & (1 << (bit & 31))) !== 0;
}

export function fromBits(bits: Iterable<number>): Bitmap {
  let max = -1;
  const list = [...bits];
  for (const bit of list) max = Math.max(max, bit);
  const out = new Uint32Array(max < 0 ? 0 : (max >>> 5) + 1);
  for (const bit of list) out[bit >>> 5]! |= 1 << (bit & 31);
  return trim(out);
}

export function or(a: Bitmap, b: Bitmap): Bitmap {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  const out = Uint32Array.from(long);
  for (let i = 0; i < short.length; i++) out[i]! |= short[i]!;
  return out;
}

export function and(a: Bitmap, b: Bitmap): Bitmap {
  const n = Math.min(a.length, b.length);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! & b[i]!;
  return trim(out);
}

export function equals(a: Bitmap, b: Bitmap): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
  return true;
}

/** Drops trailing zero words so equal sets have equal encodings. */
export function trim(b: Bitmap): Bitmap {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return n === b.length ? b : b.slice(0, n);
}

export function bitsOf(b: Bitmap): number[] {
  const out: number[] = [];
  for (let w = 0; w < b.length; w++) for (let i = 0; i < 32; i++) if ((b[w]! & (1 << i)) !== 0) out.push(w * 32 + i);
  return out;
}

/** Hex, eight digits per word, word 0 first: short, readable in logs, and easy to check. */
export function encodeBitmap(b: Bitmap): string {
  let s = '';
  for (const w of trim(b)) s += (w >>> 0).toString(16).padStart(8, '0');
  return s;
}

export const MAX_BITMAP_WORDS = 8192;

export function decodeBitmap(text: unknown): Bitmap {
  if (typeof text !== 'string' || text.length % 8 !== 0 || text.length > MAX_BITMAP_WORDS * 8 || !/^[0-9a-f]*$/.test(text)) {
    throw new CanopyError('ERR_WIRE_PROTOCOL', 'bitmap: expected lowercase hex, 8 digits per word');
  }
  const out = new Uint32Array(text.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 8, i * 8 + 8), 16);
  return trim(out);
}
