import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { sampleCipher } from '../../../src/demo/sample.js';
import { cdcParamsFor, checkCdcParams, cutChunks, nextCut, type CdcParams } from '../../../src/ingest/fastcdc.js';

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let pos = 0;
  for (let k = 0; pos < data.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

async function chunksOf(data: Buffer, p: CdcParams, sizes: number[] = [65536]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of cutChunks(pieces(data, sizes), p)) out.push(c);
  return out;
}

const P = cdcParamsFor(4096);

/** The same pseudo-random bytes for the same label, every run (the demo sample's keystream). */
const seededBytes = (label: string, n: number): Buffer => sampleCipher(label).update(Buffer.alloc(n));

describe('FastCDC', () => {
  it('tiles the input with chunks inside [min, max], whatever the read sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200_000 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 5 }), async (size, sizes) => {
        const data = randomBytes(size);
        const chunks = await chunksOf(data, P, sizes);
        assert.deepEqual(Buffer.concat(chunks), data);
        chunks.forEach((c, i) => {
          assert.ok(c.length <= P.max, `chunk ${i} is ${c.length} > max`);
          if (i < chunks.length - 1) assert.ok(c.length >= P.min, `chunk ${i} is ${c.length} < min`);
        });
        // The same bytes read in other pieces give the same cuts.
        const again = await chunksOf(data, P, [size + 1]);
        assert.deepEqual(again.map((c) => c.length), chunks.map((c) => c.length));
      }),
      { numRuns: 40 },
    );
  });

  it('keeps chunks after an insertion: only those around the edit change', async () => {
    // How far past an edit FastCDC takes to cut in step again is a matter of chance: over
    // 3,000 random draws of this case the new bytes beyond the insertion were 7.4 kB at the
    // median, 41 kB at the 99th percentile, 77.6 kB at most, and 0.4 % of draws passed
    // 3 x max. An unseeded draw made this test fail about 1 run in 250; these seeds are
    // fixed, so it checks the same cases every run and fails only if the chunker changes.
    const excess: number[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const data = seededBytes(`data-${seed}`, 2_000_000);
      const at = 300_017;
      const edited = Buffer.concat([data.subarray(0, at), seededBytes(`insert-${seed}`, 10_000), data.subarray(at)]);
      const before = new Set((await chunksOf(data, P)).map((c) => c.toString('base64')));
      const after = await chunksOf(edited, P);
      const fresh = after.filter((c) => !before.has(c.toString('base64'))).reduce((s, c) => s + c.length, 0);
      assert.ok(fresh < 10_000 + 3 * P.max, `seed ${seed}: ${fresh} new bytes for a 10 kB insertion`);
      excess.push(fresh - 10_000);
      const mean = data.length / before.size;
      assert.ok(mean > P.min && mean < P.max, `seed ${seed}: mean chunk ${mean}`);
    }
    // These eight cases average 9.4 kB beyond the insertion (2.3 x avg; the 3,000 draws 10.2 kB);
    // a chunker that cut by position would rewrite everything after the edit (1.7 MB).
    const meanExcess = excess.reduce((a, b) => a + b, 0) / excess.length;
    assert.ok(meanExcess < 5 * P.avg, `mean ${meanExcess} new bytes beyond the insertion`);
  });

  it('cuts at max on data without cut points, and never past the end', () => {
    const zeros = Buffer.alloc(100_000);
    assert.equal(nextCut(zeros, 0, zeros.length, P), P.max);
    assert.equal(nextCut(zeros, 10, 100, P), 90);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40_000 }), (bytes) => {
        const n = nextCut(bytes, 0, bytes.length, P);
        assert.ok(n <= bytes.length && (bytes.length === 0 || n > 0));
      }),
    );
  });

  it('refuses chunk sizes that are not a power of two or out of order', () => {
    const usage = (e: unknown) => e instanceof CanopyError && e.code === 'ERR_USAGE';
    assert.throws(() => cdcParamsFor(5000), usage);
    assert.throws(() => checkCdcParams({ min: 8192, avg: 4096, max: 16384 }), usage);
    assert.throws(() => checkCdcParams({ min: 1024, avg: 4096, max: 2048 }), usage);
    assert.throws(() => cdcParamsFor(2 ** 25), usage);
  });
});
