import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { isValidPlacement, parsePlacement, wantsBlock } from '../../../src/core/placement.js';
import { parseRate } from '../../../src/core/sizes.js';
import { TokenBucket } from '../../../src/swarm/token-bucket.js';

describe('placement policies', () => {
  it('parses full, on-demand and prefix:<1..100>, and nothing else', () => {
    assert.deepEqual(parsePlacement('full'), { kind: 'full' });
    assert.deepEqual(parsePlacement('on-demand'), { kind: 'on-demand' });
    assert.deepEqual(parsePlacement('prefix:10'), { kind: 'prefix', percent: 10 });
    for (const bad of ['prefix:0', 'prefix:101', 'prefix:', 'prefix:1.5', 'Full', '']) assert.equal(isValidPlacement(bad), false, bad);
    fc.assert(fc.property(fc.string(), (s) => isValidPlacement(s) === (s === 'full' || s === 'on-demand' || /^prefix:(\d{1,3})$/.test(s) && Number(s.slice(7)) >= 1 && Number(s.slice(7)) <= 100)));
  });

  it('keeps the blocks that start within the prefix, the first always', () => {
    const size = 1000;
    const p = parsePlacement('prefix:25');
    assert.deepEqual([0, 100, 249, 250, 900].map((o) => wantsBlock(p, o, size)), [true, true, true, false, false]);
    assert.equal(wantsBlock(parsePlacement('prefix:1'), 0, size), true);
    assert.equal(wantsBlock(parsePlacement('on-demand'), 0, size), false);
  });
});

describe('rates and the token bucket', () => {
  it('parses tc bit rates and sizes per second', () => {
    assert.equal(parseRate('100mbit'), 12_500_000);
    assert.equal(parseRate('800kbit'), 100_000);
    assert.equal(parseRate('10MiB/s'), 10 * 2 ** 20);
    assert.equal(parseRate('0'), 0);
    assert.ok(isCanopyErrorThrown(() => parseRate('fast')));
  });

  it('lets `rate` bytes per second through after the burst, never more', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 500, () => now);
    assert.equal(bucket.reserve(500), 0);
    assert.equal(bucket.reserve(500), 500);
    now = 500;
    assert.equal(bucket.reserve(500), 0);
    // A request larger than the burst waits for a full bucket, then passes in debt.
    now = 1000;
    assert.equal(bucket.reserve(2000), 0);
    assert.ok(bucket.reserve(1) > 1000);
  });
});

function isCanopyErrorThrown(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isCanopyError(err);
  }
}
