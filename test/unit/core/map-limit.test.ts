import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapLimit } from '../../../src/core/map-limit.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps the items order whatever order the calls finish in, with at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = await mapLimit(items, 7, async (x) => {
      most = Math.max(most, ++inFlight);
      for (let k = 0; k < (x * 7) % 5; k++) await tick();
      inFlight--;
      return x * 2;
    });
    assert.deepEqual(out, items.map((x) => x * 2));
    assert.equal(most, 7);
  });

  it('rejects with the first failure and starts no call after it', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4, 5, 6, 7], 2, async (x) => {
        started.push(x);
        await tick();
        if (x === 2) throw new Error('two');
        return x;
      }),
      /two/,
    );
    // 2 failed while 3 ran beside it; nothing after them started.
    assert.deepEqual(started, [0, 1, 2, 3]);
  });

  it('maps an empty list to an empty list', async () => {
    assert.deepEqual(await mapLimit([], 4, async (x: number) => x), []);
  });
});
