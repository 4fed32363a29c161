/** Failure detection in missed intervals: a stalled loop of our own, or a slow neighbour, is not a death; silence is. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Liveness, MAX_DEAD_FACTOR } from '../../../src/tree/liveness.js';

describe('tree liveness', () => {
  it('declares a silent neighbour dead after the configured silence', () => {
    const l = new Liveness(0, 1000, 3500);
    for (let t = 1000; t <= 5000; t += 1000) l.heard(t);
    assert.equal(l.dead(8400), false);
    assert.equal(l.dead(8600), true);
  });

  it('does not count time our own loop was stalled', () => {
    const l = new Liveness(0, 1000, 3500);
    l.heard(1000);
    // Our loop was blocked for 6 s: the messages sent meanwhile are still queued behind this tick.
    l.paused(6000);
    assert.equal(l.dead(7500), false);
    l.heard(7600);
    assert.equal(l.dead(7700), false);
  });

  it('stretches to a neighbour whose heartbeats come late, within a bound', () => {
    const l = new Liveness(0, 1000, 3500);
    for (let t = 2500; t <= 10_000; t += 2500) l.heard(t);
    assert.equal(l.dead(10_000 + 5000), false, 'slow beats every 2.5 s: 5 s of silence is two of them');
    assert.equal(l.dead(10_000 + 9000), true);
    const never = new Liveness(0, 1000, 3500);
    never.heard(60_000);
    assert.equal(never.limitMs(), 3500 * MAX_DEAD_FACTOR);
  });
});
