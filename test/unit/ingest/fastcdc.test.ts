import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
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
    const data = randomBytes(2_000_000);
    const at = 300_017;
    const edited = Buffer.concat([data.subarray(0, at), randomBytes(10_000), data.subarray(at)]);
    const before = new Set((await chunksOf(data, P)).map((c) => c.toString('base64')));
    const after = await chunksOf(edited, P);
    const fresh = after.filter((c) => !before.has(c.toString('base64'))).reduce((s, c) => s + c.length, 0);
    assert.ok(fresh < 10_000 + 3 * P.max, `${fresh} new bytes for a 10 kB insertion`);
    const mean = data.length / before.size;
    assert.ok(mean > P.min && mean < P.max, `mean chunk ${mean}`);
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
