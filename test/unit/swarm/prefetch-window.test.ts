import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { formatWindow, inWindow, msUntilOpen, parseWindow, RatePacer } from '../../../src/swarm/prefetch-window.js';

const at = (h: number, m = 0) => new Date(2026, 10, 25, h, m, 0, 0);

describe('prefetch windows', () => {
  it('opens and closes at local times, wrapping past midnight', () => {
    const night = parseWindow('22:00-06:00');
    assert.equal(inWindow(night, at(23)), true);
    assert.equal(inWindow(night, at(3)), true);
    assert.equal(inWindow(night, at(6)), false);
    assert.equal(inWindow(night, at(12)), false);
    assert.equal(msUntilOpen(night, at(21, 30)), 30 * 60_000);
    assert.equal(msUntilOpen(night, at(23)), 0);
    const day = parseWindow('09:15-17:00');
    assert.equal(msUntilOpen(day, at(18)), (15 * 60 + 15) * 60_000);
    assert.equal(formatWindow(day), '09:15-17:00');
  });

  it('parses only HH:MM-HH:MM, failing with ERR_USAGE otherwise', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const w = parseWindow(text);
          assert.equal(formatWindow(parseWindow(formatWindow(w))), formatWindow(w));
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_USAGE');
        }
      }),
    );
    assert.throws(() => parseWindow('10:00-10:00'), /empty/);
    assert.throws(() => parseWindow('24:00-01:00'), /HH:MM/);
  });

  it('paces bytes to the rate over time, with a one-second burst', () => {
    const pacer = new RatePacer(1000);
    let now = 0;
    let sent = 0;
    for (let i = 0; i < 100; i++) {
      now += pacer.reserve(100, now);
      sent += 100;
    }
    // 10,000 bytes at 1,000 B/s: 9 s after the first (the first second is a burst).
    assert.ok(now >= 8_000 && now <= 10_000, `took ${now} ms`);
    assert.equal(sent, 10_000);
  });
});
