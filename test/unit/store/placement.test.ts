import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { rankVolumes, StripeSequence } from '../../../src/store/placement.js';

const volumes = (weights: number[]) => weights.map((weight, i) => ({ id: `v${i}`, weight }));

function counts(seq: StripeSequence, key: string, n: number): Map<string, number> {
  const c = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = seq.volumeFor(key, i).id;
    c.set(id, (c.get(id) ?? 0) + 1);
  }
  return c;
}

describe('stripe placement', () => {
  it('puts consecutive blocks on different volumes whenever no volume outweighs all others', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 6 }), fc.string(), fc.integer({ min: 2, max: 300 }), (weights, key, n) => {
        const total = weights.reduce((a, b) => a + b, 0);
        fc.pre(Math.max(...weights) * 2 <= total);
        const seq = new StripeSequence(volumes(weights));
        for (let i = 1; i < n; i++) assert.notEqual(seq.volumeFor(key, i).id, seq.volumeFor(key, i - 1).id, `blocks ${i - 1} and ${i}`);
      }),
    );
  });

  it('gives each volume its weighted share of any run of blocks, within one block', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 6 }), fc.string(), fc.integer({ min: 1, max: 500 }), (weights, key, n) => {
        const total = weights.reduce((a, b) => a + b, 0);
        const c = counts(new StripeSequence(volumes(weights)), key, n);
        weights.forEach((w, i) => assert.ok(Math.abs((c.get(`v${i}`) ?? 0) - (n * w) / total) <= 2, `volume ${i}: ${c.get(`v${i}`)} of ${n}`));
      }),
    );
  });

  it('starts different contents on different volumes', () => {
    const seq = new StripeSequence(volumes([1, 1, 1]));
    const firsts = new Set(Array.from({ length: 30 }, (_, i) => seq.volumeFor(`content-${i}`, 0).id));
    assert.equal(firsts.size, 3);
  });

  it('ranks volumes by weighted rendezvous hashing: stable, and roughly by weight', () => {
    const vs = volumes([1, 3]);
    assert.deepEqual(rankVolumes('abc', vs), rankVolumes('abc', vs));
    let heavy = 0;
    for (let i = 0; i < 4000; i++) if (rankVolumes(`k${i}`, vs)[0]!.id === 'v1') heavy++;
    assert.ok(heavy > 2700 && heavy < 3300, `heavy volume got ${heavy} of 4000`);
  });
});
