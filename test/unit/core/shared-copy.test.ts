/**
 * copyBytes is Buffer#copy with a faster route into shared memory: for any offsets and
 * lengths, into shared and ordinary buffers, it copies exactly what Buffer#copy copies, and
 * returns the same count (property test over random cases, seeded so a failure repeats).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyBytes } from '../../../src/core/shared-copy.js';

/** A small deterministic generator (mulberry32): the same cases every run. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('copyBytes', () => {
  it('copies as Buffer#copy does, into shared and ordinary memory, whatever the alignment', () => {
    const rnd = random(12);
    const src = Buffer.allocUnsafe(700_000);
    for (let i = 0; i < src.length; i++) src[i] = rnd(256);
    for (let c = 0; c < 300; c++) {
      const shared = c % 2 === 0;
      const size = 1 + rnd(600_000);
      const base = shared ? Buffer.from(new SharedArrayBuffer(size + 16)) : Buffer.alloc(size + 16);
      const dst = base.subarray(rnd(9));
      const expected = Buffer.from(dst);
      const dstOffset = rnd(dst.length + 1);
      const srcStart = rnd(src.length);
      const srcEnd = srcStart + rnd(src.length - srcStart + 1);
      const view = src.subarray(rnd(5));
      const start = Math.min(srcStart, view.length);
      const end = Math.min(srcEnd, view.length);
      const want = view.copy(expected, dstOffset, start, end);
      const got = copyBytes(view, dst, dstOffset, start, end);
      assert.equal(got, want, `case ${c}: count`);
      assert.ok(dst.equals(expected), `case ${c}: bytes (shared ${shared}, offset ${dstOffset}, ${start}-${end})`);
    }
  });

  it('uses the whole source by default', () => {
    const dst = Buffer.from(new SharedArrayBuffer(5000));
    const src = Buffer.alloc(3001, 7).subarray(1);
    assert.equal(copyBytes(src, dst, 3), 3000);
    assert.equal(dst[2], 0);
    assert.equal(dst[3], 7);
    assert.equal(dst[3002], 7);
    assert.equal(dst[3003], 0);
  });
});
