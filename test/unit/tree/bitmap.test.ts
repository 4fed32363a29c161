import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { and, bitsOf, decodeBitmap, encodeBitmap, equals, fromBits, hasBit, or } from '../../../src/tree/bitmap.js';
import { CanopyError } from '../../../src/core/errors.js';

const bitSet = fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 40 });

describe('bitmap', () => {
  it('behaves like a set of bits under or, and, equals', () => {
    fc.assert(
      fc.property(bitSet, bitSet, (a, b) => {
        const A = fromBits(a);
        const B = fromBits(b);
        assert.deepEqual(bitsOf(or(A, B)), [...new Set([...a, ...b])].sort((x, y) => x - y));
        assert.deepEqual(bitsOf(and(A, B)), a.filter((x) => b.includes(x)).sort((x, y) => x - y));
        assert.equal(equals(A, B), new Set(a).size === new Set(b).size && a.every((x) => b.includes(x)));
        for (const x of a) assert.ok(hasBit(A, x));
      }),
    );
  });

  it('round-trips through its hex encoding', () => {
    fc.assert(fc.property(bitSet, (a) => assert.ok(equals(decodeBitmap(encodeBitmap(fromBits(a))), fromBits(a)))));
  });

  it('rejects malformed encodings with ERR_WIRE_PROTOCOL', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), (v) => {
        try {
          decodeBitmap(v);
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_WIRE_PROTOCOL');
        }
      }),
    );
    assert.throws(() => decodeBitmap('abc'), /8 digits per word/);
    assert.throws(() => decodeBitmap('0000000G'), /hex/);
  });
});
