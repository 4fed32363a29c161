/**
 * Copying into memory that worker threads share (a SharedArrayBuffer, such as the ingest's
 * buffer pools that the hash workers read in place). V8 copies into shared memory with relaxed
 * atomics, a word at a time only when source and destination agree modulo 8, else a byte at a
 * time: measured on this machine kind, a misaligned copy into shared memory costs 0.35-0.44 CPU
 * seconds per GiB on Node 20, 22 and 24, an aligned one 0.06-0.07, into ordinary memory 0.02-0.04.
 * An origin's socket reads end at whatever byte the kernel gives, so most of an origin publish's
 * copies were misaligned: a third of its main thread (notes/issue-20.md, session 12).
 *
 * A misaligned copy goes first into a small ordinary buffer at the destination's alignment (a
 * plain memcpy), then from there: two fast copies instead of one slow one.
 */
const WORD = 8;
const BOUNCE_BYTES = 256 * 1024;
let bounce: Buffer | undefined;

function isShared(b: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && b.buffer instanceof SharedArrayBuffer;
}

/** As `src.copy(dst, dstOffset, srcStart, srcEnd)`: copies what fits and returns the byte count. */
export function copyBytes(src: Buffer, dst: Buffer, dstOffset: number, srcStart = 0, srcEnd = src.length): number {
  const n = Math.max(0, Math.min(srcEnd - srcStart, dst.length - dstOffset));
  const dstAt = dst.byteOffset + dstOffset;
  if (n < WORD * 64 || !isShared(dst) || (src.byteOffset + srcStart - dstAt) % WORD === 0) return src.copy(dst, dstOffset, srcStart, srcStart + n);
  // Backing stores start at least 8-aligned, so byteOffset modulo 8 is the address's.
  bounce ??= Buffer.allocUnsafeSlow(BOUNCE_BYTES + WORD);
  const shift = dstAt % WORD;
  for (let done = 0; done < n; ) {
    const k = Math.min(BOUNCE_BYTES, n - done);
    src.copy(bounce, shift, srcStart + done, srcStart + done + k);
    bounce.copy(dst, dstOffset + done, shift, shift + k);
    done += k;
  }
  return n;
}
