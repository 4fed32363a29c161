/**
 * Upload slots weighed by drain pace (issue 17, session 7): a downloader that drains a block
 * at a quarter of the best pace holds a quarter of a slot, so an uploader whose slots are
 * held by slow downloaders sends to another at once instead of leaving its link idle; with
 * nothing measured, or every downloader alike, the slots are a plain count as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import { MANY_ASKERS, SlotShares } from '../../../src/swarm/upload-slots.js';
import { UploadLimiter } from '../../../src/swarm/upload-limiter.js';

const MiB = 2 ** 20;

describe('upload slots weighed by drain pace', () => {
  it('counts unknown and equally fast downloaders as whole slots, and slow ones as their share, up to twice the slots', () => {
    const s = new SlotShares(4);
    assert.equal(s.admits(['a', 'b', 'c'], 'd', 0), true, 'a free slot is taken whatever is known');
    assert.equal(s.admits(['a', 'b', 'c', 'd'], 'e', 0), false, 'nothing measured: four slots are four');
    for (const p of ['fast1', 'fast2']) s.ended(p, 4 * MiB, 400, 1_000);
    s.ended('slow', 4 * MiB, 1_600, 1_000);
    assert.equal(s.weight('slow', 1_000), 0.25);
    assert.equal(s.weight('fast1', 1_000), 1);
    assert.equal(s.admits(['fast1', 'fast2', 'fast1', 'fast2'], 'slow', 1_000), false, 'four fast uploads fill the link');
    assert.equal(s.admits(['slow', 'slow', 'fast1', 'fast2'], 'fast1', 1_000), true, 'two slow uploads leave 1.5 slots');
    assert.equal(s.admits(['slow', 'slow', 'fast1', 'fast2', 'fast1'], 'fast2', 1_000), false, '4.5 slots would be past the link');
    assert.equal(s.admits(['slow', 'slow', 'slow', 'slow', 'slow', 'slow', 'slow', 'slow'], 'slow', 1_000), false, 'never more than twice the slots');
    // Paces are forgotten after their memory: the slow downloader counts whole again.
    assert.equal(s.weight('slow', 40_000), 1);
  });

  it('the limiter sends to a third downloader at once while two slots are held by a slow one, and makes it wait while they are fast', async () => {
    let now = 0;
    const limiter = new UploadLimiter(0, 2, 2, () => now);
    // One block each to learn the paces: 'fast' drains 4 MiB in 0.5 s, 'slow' in 2 s.
    let r = await limiter.acquire(4 * MiB, undefined, 'fast');
    now += 500;
    r();
    r = await limiter.acquire(4 * MiB, undefined, 'slow');
    now += 2_000;
    r();
    const slow = [await limiter.acquire(4 * MiB, undefined, 'slow'), await limiter.acquire(4 * MiB, undefined, 'slow')];
    assert.equal(limiter.load().uploads, 2);
    const third = await limiter.acquire(4 * MiB, undefined, 'fast');
    assert.equal(limiter.load().uploads, 3, 'the slow uploads leave room: the fast one went at once');
    for (const release of [...slow, third]) release();
    // Two fast uploads fill both slots: a third waits, and past two waiting the answer is busy.
    const held = [await limiter.acquire(4 * MiB, undefined, 'fast'), await limiter.acquire(4 * MiB, undefined, 'fast')];
    let granted = false;
    const waiting = limiter.acquire(4 * MiB, undefined, 'slow').then((release) => {
      granted = true;
      return release;
    });
    const waiting2 = limiter.acquire(4 * MiB, undefined, 'fast');
    await assert.rejects(limiter.acquire(MiB, undefined, 'fast'), (err) => isCanopyError(err, 'ERR_BUSY'));
    await Promise.resolve();
    assert.equal(granted, false);
    held[0]!();
    (await waiting)();
    (await waiting2)();
    held[1]!();
    assert.equal(limiter.load().uploads, 0);
  });

  it('a block relayed while still arriving does not measure its downloader (it went at its source\'s pace)', async () => {
    let now = 0;
    const limiter = new UploadLimiter(0, 1, 2, () => now);
    let r = await limiter.acquire(4 * MiB, undefined, 'fast');
    now += 500;
    r();
    r = await limiter.acquire(4 * MiB, undefined, 'relayed-to');
    now += 4_000;
    r(false);
    // Still unknown, so it counts whole: one slot held by it leaves no room for another.
    const held = await limiter.acquire(4 * MiB, undefined, 'relayed-to');
    let granted = false;
    const next = limiter.acquire(4 * MiB, undefined, 'fast').then((release) => ((granted = true), release));
    await Promise.resolve();
    assert.equal(granted, false);
    held();
    (await next)();
  });

  it('among more than MANY_ASKERS recent askers one request fewer waits for a slot, never none', () => {
    const s = new SlotShares(4);
    assert.equal(s.waitingLimit(2, 0), 2, 'nobody has asked');
    for (let i = 0; i < MANY_ASKERS; i++) s.asked(`d${i}`, 0);
    s.asked('d0', 0);
    assert.equal(s.waitingLimit(2, 0), 2, `${MANY_ASKERS} askers, one of them twice, are not more than ${MANY_ASKERS}`);
    s.asked('late', 20_000);
    assert.equal(s.waitingLimit(2, 20_000), 1, 'one more asker: one request fewer waits');
    assert.equal(s.waitingLimit(1, 20_000), 1, 'never under one');
    assert.equal(s.waitingLimit(Infinity, 20_000), Infinity, 'unbounded stays unbounded');
    assert.equal(s.waitingLimit(2, 30_000), 2, 'the first askers are past their memory: few again');
  });

  it('the limiter answers busy past one waiter once many downloaders have asked it, past two among few', async () => {
    const limiter = new UploadLimiter(0, 1, 2, () => 0);
    const held = await limiter.acquire(MiB, undefined, 'a');
    const waiting = [limiter.acquire(MiB, undefined, 'b'), limiter.acquire(MiB, undefined, 'c')];
    await assert.rejects(limiter.acquire(MiB, undefined, 'd'), (err) => isCanopyError(err, 'ERR_BUSY'), 'few askers: two wait');
    // More than MANY_ASKERS distinct downloaders ask (all answered busy: two already wait).
    for (let i = 0; i < MANY_ASKERS; i++) await assert.rejects(limiter.acquire(MiB, undefined, `e${i}`), (err) => isCanopyError(err, 'ERR_BUSY'));
    held();
    const b = await waiting[0]!;
    // One waits ('c'): among many askers that is all that may.
    await assert.rejects(limiter.acquire(MiB, undefined, 'f'), (err) => isCanopyError(err, 'ERR_BUSY'), 'many askers: one waits');
    b();
    (await waiting[1]!)();
    assert.equal(limiter.load().uploads, 0);
  });
});
