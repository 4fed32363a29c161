import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { Bitfield } from '../../../src/swarm/bitfield.js';

describe('bitfield', () => {
  it('round-trips any set of blocks through its wire bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.nat({ max: n - 1 })))), ([n, set]) => {
        const b = new Bitfield(n);
        set.forEach((i) => b.set(i));
        const back = Bitfield.fromBytes(n, b.toBuffer());
        assert.equal(back.count, set.length);
        for (let i = 0; i < n; i++) assert.equal(back.has(i), set.includes(i));
        assert.equal(back.complete, set.length === n);
      }),
    );
  });

  it('parses any bytes to a consistent bitfield or refuses them with a coded error', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.uint8Array({ maxLength: 20 }), (n, bytes) => {
        try {
          const b = Bitfield.fromBytes(n, bytes);
          let ones = 0;
          for (let i = 0; i < n; i++) if (b.has(i)) ones++;
          assert.equal(b.count, ones);
          assert.deepEqual(new Uint8Array(b.toBuffer()), bytes);
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_WIRE_PROTOCOL', String(err));
        }
      }),
    );
  });

  it('refuses bits set past the last block and blocks out of range', () => {
    assert.throws(() => Bitfield.fromBytes(3, Buffer.from([0b11110000])), /past the last block/);
    assert.throws(() => new Bitfield(3).set(3), /outside/);
    assert.equal(Bitfield.full(9).complete, true);
  });
});
