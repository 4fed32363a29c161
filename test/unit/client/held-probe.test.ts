import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { heldProbe, MISSES_TO_STOP } from '../../../src/client/held-probe.js';

describe('heldProbe (which blocks a publish names instead of sending)', () => {
  it('answers what the root says while asking; one question for a fresh publish; stops after 8 misses in a row; never asks again after', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 60 }), async (rootHolds) => {
        let asked = 0;
        const probe = heldProbe(async (h) => (asked++, rootHolds[Number(h)]!));
        const answers: boolean[] = [];
        for (let i = 0; i < rootHolds.length; i++) answers.push(await probe(String(i)));
        // The model: ask the first; stop at once if it is missing; else ask until 8 missing in a row.
        let expectAsked = 0;
        let misses = 0;
        for (let i = 0; i < rootHolds.length; i++) {
          expectAsked++;
          misses = rootHolds[i] ? 0 : misses + 1;
          if ((i === 0 && !rootHolds[i]) || misses >= MISSES_TO_STOP) break;
        }
        assert.equal(asked, expectAsked);
        // Held only where the root holds it (a block it lacks is always sent).
        answers.forEach((a, i) => assert.ok(!a || rootHolds[i]));
        assert.equal(answers.filter(Boolean).length, rootHolds.slice(0, expectAsked).filter(Boolean).length);
      }),
    );
  });

  it('sends every block to a root that cannot answer', async () => {
    const probe = heldProbe(async () => {
      throw new Error('404');
    });
    assert.equal(await probe('a'), false);
    assert.equal(await probe('b'), false);
  });
});
