/**
 * The leader's deadline timer (src/root/state/lease-deadline.ts), on real timers: it fires
 * once and not before the deadline, follows a deadline moved by renewals, and needs no
 * renewal to return to fire (test/netns/root-cutoff.test.ts is the case with a database);
 * the renewal timer tells how late it ran (the event loop held by other work).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseDeadline } from '../../../src/root/state/lease-deadline.js';
import { LateTimer } from '../../../src/root/state/late-timer.js';

/** Waits until `done()` or `limitMs` have passed: a busy machine runs timers late, never early. */
async function waitFor(done: () => boolean, limitMs = 5_000): Promise<void> {
  const end = performance.now() + limitMs;
  while (!done() && performance.now() < end) await sleep(10);
}

describe('lease deadline', () => {
  it('fires once, after the deadline, when no renewal moves it', async () => {
    const until = performance.now() + 60;
    const fired: number[] = [];
    const d = new LeaseDeadline(() => until, () => fired.push(performance.now()));
    d.start();
    // A renewal that never answers moves nothing: the deadline stays where it was.
    await waitFor(() => fired.length > 0);
    await sleep(100);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]! >= until, `fired ${until - fired[0]!} ms early`);
    d.stop();
  });

  it('follows a deadline moved by renewals, and fires at the last one', async () => {
    // Renewed every 30 ms to a deadline 1 s ahead: in time even when a loaded machine runs a
    // 30 ms sleep hundreds of ms late (a 60 ms margin failed a CI-like run once).
    const t0 = performance.now();
    let until = t0 + 1_000;
    const fired: number[] = [];
    const d = new LeaseDeadline(() => until, () => fired.push(performance.now()));
    d.start();
    for (let i = 0; i < 4; i++) {
      await sleep(30);
      until = performance.now() + 1_000;
    }
    assert.equal(fired.length, 0, 'renewed in time: not fired');
    await waitFor(() => fired.length > 0);
    await sleep(100);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]! >= until);
  });

  it('fires at once for a deadline already passed, and never after stop', async () => {
    let n = 0;
    new LeaseDeadline(() => performance.now() - 1, () => n++).start();
    assert.equal(n, 1);
    const d = new LeaseDeadline(() => performance.now() + 20, () => n++);
    d.start();
    d.stop();
    await sleep(80);
    assert.equal(n, 1);
  });
});

describe('lease renewal timer', () => {
  it('measures its own lateness: about 0 on a free event loop, the stall when the loop was held', async () => {
    const late: number[] = [];
    const t = new LateTimer(40, (ms) => late.push(ms));
    // Waits for turns rather than for a fixed time: on a busy machine turns come later, not fewer.
    const turns = async (n: number) => {
      while (late.length < n) await sleep(10);
    };
    t.start();
    await turns(2);
    const free = late.splice(0);
    // Held by synchronous work (what a 10,000-row status was): the turn after it says how long.
    // 600 ms, so a busy machine's own lateness (a turn or two 100-200 ms late) cannot pass for it.
    const until = performance.now() + 600;
    while (performance.now() < until);
    await turns(2);
    t.stop();
    assert.ok(late[0]! >= 540, `late ${late.join(', ')} ms after a 600 ms stall`);
    assert.ok(late[1]! < late[0]! - 300, `one stall, counted once: ${late.join(', ')} ms`);
    assert.ok(Math.min(...free) < 540, `free loop: ${free.join(', ')} ms late`);
  });
});
