import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { actUntil, decideLease, fenceHolds, type Lease } from '../../../src/root/state/leader-lease.js';

const TTL = 5000;
const roots = ['r1', 'r2', 'r3'].map((id) => ({ id, address: `${id}:7401` }));

describe('leader lease', () => {
  it('takes a free or expired lease with a new fence, renews its own, follows a live one', () => {
    const a = decideLease(undefined, roots[0]!, 1000, TTL);
    assert.deepEqual(a, { action: 'acquire', lease: { holder: 'r1', address: 'r1:7401', fence: 1, expiresAt: 6000 } });
    const held = (a as { lease: Lease }).lease;
    assert.deepEqual(decideLease(held, roots[1]!, 5999, TTL), { action: 'follow', leader: held });
    assert.deepEqual(decideLease(held, roots[0]!, 3000, TTL), { action: 'renew', lease: { ...held, expiresAt: 8000 } });
    assert.deepEqual(decideLease(held, roots[1]!, 6000, TTL), { action: 'acquire', lease: { holder: 'r2', address: 'r2:7401', fence: 2, expiresAt: 11000 } });
    // Its own lease, once expired, is taken again like anyone's: a new fence, so writes fenced with the old one fail.
    assert.equal((decideLease(held, roots[0]!, 6000, TTL) as { lease: Lease }).lease.fence, 2);
  });

  it('over any schedule of roots asking: one holder at a time, fences only grow, a stale fence never holds', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 2 }), fc.integer({ min: 0, max: 7000 })), { maxLength: 60 }), (steps) => {
        let row: Lease | undefined;
        let now = 0;
        const granted: Lease[] = [];
        for (const [who, dt] of steps) {
          now += dt;
          const d = decideLease(row, roots[who]!, now, TTL);
          if (d.action === 'follow') {
            assert.ok(row && row.expiresAt > now && row.holder !== roots[who]!.id);
            continue;
          }
          if (row) assert.ok(d.lease.fence >= row.fence);
          if (row && d.lease.holder !== row.holder) assert.ok(row.expiresAt <= now, 'a lease changed hands before it expired');
          if (row && d.action === 'acquire') assert.equal(d.lease.fence, row.fence + 1);
          for (const old of granted) if (old.fence !== d.lease.fence) assert.equal(fenceHolds(old.fence, d.lease), false);
          row = d.lease;
          granted.push(row);
        }
      }),
    );
  });

  it('stops acting a margin before the lease could have run out', () => {
    assert.equal(actUntil(100, TTL, 1000), 4100);
    assert.equal(actUntil(100, 500, 1000), 100);
    assert.equal(fenceHolds(3, undefined), false);
  });
});
