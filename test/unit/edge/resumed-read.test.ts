/** A blob body that resumes where a passing read failure cut it, and only then. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { resumedRead } from '../../../src/edge/oci/resumed-read.js';

const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

/** Reads `data` from `from` in 100-byte chunks, failing with `code` at the positions listed in `failAt` (once each). */
function flaky(failAt: number[], code = 'ERR_CONNECTION_CLOSED') {
  const opens: number[] = [];
  const open = async function* (from: number) {
    opens.push(from);
    for (let pos = from; pos < data.length; pos += 100) {
      const i = failAt.findIndex((f) => f >= pos && f < pos + 100);
      if (i >= 0) {
        const at = failAt.splice(i, 1)[0]!;
        if (at > pos) yield data.subarray(pos, at);
        throw new CanopyError(code as 'ERR_TIMEOUT', 'passing');
      }
      yield data.subarray(pos, Math.min(pos + 100, data.length));
    }
  };
  return { open, opens };
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

test('resumes from the byte it stopped at, whatever the failures past the first byte (fewer than the tries in a row)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { maxLength: 6 }), fc.integer({ min: 0, max: 500 }), async (fails, from) => {
      const at = fails.filter((f) => f > from).sort((a, b) => a - b);
      const f = flaky([...at]);
      assert.deepEqual(await collect(resumedRead(f.open, from, new AbortController().signal)), data.subarray(from));
      assert.deepEqual(f.opens, [from, ...at]);
    }),
    { numRuns: 200 },
  );
});

test('gives up: before the first byte, after the tries without progress, on other errors, and when the client left', async () => {
  const none = new AbortController().signal;
  await assert.rejects(collect(resumedRead(flaky([0]).open, 0, none)), /passing/, 'a failure before the first byte is the caller’s');
  const stuck = async function* (from: number) {
    if (from === 0) yield data.subarray(0, 10);
    throw new CanopyError('ERR_TIMEOUT', 'stuck');
  };
  await assert.rejects(collect(resumedRead(stuck, 0, none, 3)), /stuck/);
  await assert.rejects(collect(resumedRead(flaky([500], 'ERR_BLOCK_HASH_MISMATCH').open, 0, none)), /passing/);
  const left = new AbortController();
  left.abort();
  await assert.rejects(collect(resumedRead(flaky([500]).open, 0, left.signal)), /passing/);
});
