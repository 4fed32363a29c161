/**
 * The leader's deadline timer (src/root/state/lease-deadline.ts), on real timers: it fires
 * once and not before the deadline, follows a deadline moved by renewals, and needs no
 * renewal to return to fire (test/netns/root-cutoff.test.ts is the case with a database).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseDeadline } from '../../../src/root/state/lease-deadline.js';

describe('lease deadline', () => {
  it('fires once, after the deadline, when no renewal moves it', async () => {
    const until = performance.now() + 60;
    const fired: number[] = [];
    const d = new LeaseDeadline(() => until, () => fired.push(performance.now()));
    d.start();
    // A renewal that never answers moves nothing: the deadline stays where it was.
    await sleep(250);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]! >= until, `fired ${until - fired[0]!} ms early`);
    d.stop();
  });

  it('follows a deadline moved by renewals, and fires at the last one', async () => {
    const t0 = performance.now();
    let until = t0 + 60;
    const fired: number[] = [];
    const d = new LeaseDeadline(() => until, () => fired.push(performance.now()));
    d.start();
    for (let i = 0; i < 4; i++) {
      await sleep(30);
      until = performance.now() + 60;
    }
    assert.equal(fired.length, 0, 'renewed in time: not fired');
    await sleep(250);
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
