import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseRange } from '../../../src/edge/http/range.js';

describe('HTTP Range parsing', () => {
  it('handles the RFC 9110 forms', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'ranges', ranges: [{ start: 0, end: 99 }] });
    assert.deepEqual(parseRange('bytes=900-', 1000), { kind: 'ranges', ranges: [{ start: 900, end: 999 }] });
    assert.deepEqual(parseRange('bytes=-100', 1000), { kind: 'ranges', ranges: [{ start: 900, end: 999 }] });
    assert.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'ranges', ranges: [{ start: 0, end: 999 }] });
    assert.deepEqual(parseRange('bytes=990-2000', 1000), { kind: 'ranges', ranges: [{ start: 990, end: 999 }] });
    assert.deepEqual(parseRange('bytes=0-0, 5-9', 1000), { kind: 'ranges', ranges: [{ start: 0, end: 0 }, { start: 5, end: 9 }] });
    assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=5-1', 1000), { kind: 'ignore' });
    assert.deepEqual(parseRange('items=0-1', 1000), { kind: 'ignore' });
    assert.deepEqual(parseRange('bytes=a-b', 1000), { kind: 'ignore' });
    assert.deepEqual(parseRange(undefined, 1000), { kind: 'ignore' });
  });

  it('ignores a suffix range on an empty content (200), and counts the 64-range limit after merging (issue 16)', () => {
    assert.deepEqual(parseRange('bytes=-1', 0), { kind: 'ignore' });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    const adjacent = `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',')}`;
    assert.deepEqual(parseRange(adjacent, 1000), { kind: 'ranges', ranges: [{ start: 0, end: 199 }] });
    const disjoint = (n: number) => `bytes=${Array.from({ length: n }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`;
    assert.equal(parseRange(disjoint(64), 1000).kind, 'ranges');
    assert.deepEqual(parseRange(disjoint(65), 1000), { kind: 'ignore' });
  });

  it('always returns ranges inside the content, for any header', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'bytes=0123456789-, '.split('')), maxLength: 30 }), fc.nat({ max: 10_000 }), (header, size) => {
        const r = parseRange(header, size);
        if (r.kind === 'ranges') {
          for (const { start, end } of r.ranges) {
            assert.ok(start >= 0 && start <= end && end < size, `${header} ${size} -> ${start}-${end}`);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
