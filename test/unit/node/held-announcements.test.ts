/** Announcements held until a newer publisher list: bounded in count (oldest out) and age, taken once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HeldAnnouncements } from '../../../src/node/held-announcements.js';

describe('held announcements', () => {
  it('keeps the newest up to the bound, drops stale ones, and hands each out once', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[a-f]{1,3}$/), fc.nat({ max: 1000 })), { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (events, max) => {
        const held = new HeldAnnouncements(max, 500);
        let now = 0;
        const last = new Map<string, number>();
        for (const [id, dt] of events) {
          now += dt;
          held.hold(id, { id }, undefined, now);
          last.delete(id);
          last.set(id, now);
          assert.ok(held.size <= max);
        }
        const expected = [...last].slice(-max).filter(([, at]) => now - at <= 500).map(([id]) => id);
        assert.deepEqual(held.take(now).map((h) => h.contentId), expected);
        assert.deepEqual(held.take(now), []);
      }),
    );
  });
});
