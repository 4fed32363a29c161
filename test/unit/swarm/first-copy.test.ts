/**
 * The origin's first copies go to downloaders that pass blocks on fast (issue 17 sessions 9
 * and 10, src/swarm/first-copy.ts): the origin declines a block's first copy to a slow drain
 * once and says so; the next member in the block's rendezvous order fetches it; the declined
 * downloader takes it from a peer, asking the origin again when no holder appears and it has
 * nothing else to do (or a client waits for it). Both sides are pure; a clock is given.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { DECLINE_RETRY_MS, FIRST_COPY_MIN_SHARE, FirstCopyRule, LIFT_IDLE_MS } from '../../../src/swarm/first-copy.js';
import { DRAIN_MEMORY_MS } from '../../../src/swarm/upload-slots.js';
import type { PeerLoad } from '../../../src/swarm/peer-state.js';
import { mixedHash } from '../../../src/swarm/rendezvous.js';
import { SwarmScheduler, type SwarmAction } from '../../../src/swarm/scheduler.js';
import { SLOW_MEMORY_MS, SwarmState } from '../../../src/swarm/swarm-state.js';
import { UploadLimiter } from '../../../src/swarm/upload-limiter.js';

const MiB = 2 ** 20;
const IDLE: PeerLoad = { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 };
const asked = (actions: SwarmAction[], peer: string) => actions.filter((a) => a.type === 'request' && a.peer === peer).map((a) => (a as { index: number }).index);

describe('first copies from the origin', () => {
  it('declines a first copy to a slow drain once per downloader and block, and forgets after its memory', () => {
    const rule = new FirstCopyRule();
    for (const peer of ['a', 'b']) assert.equal(rule.declines(peer, 'c/0', true, 1, 0), false);
    assert.equal(rule.declines('slow', 'c/1', true, 0.25, 0), true);
    assert.equal(rule.declines('slow', 'c/1', true, 0.25, 10), false, 'asked again: the origin sends it');
    assert.equal(rule.declines('slow', 'c/2', false, 0.25, 10), false, 'not a first copy: it is sent');
    assert.equal(rule.declines('fast', 'c/3', true, 1, 10), false, 'a fast (or unmeasured: share 1) drain gets first copies');
    assert.equal(rule.declines(undefined, 'c/3', true, 0.1, 10), false, 'an unknown downloader is not judged');
    assert.equal(rule.declines('slow', 'c/3', true, 0.25, 10), true);
    for (const peer of ['a', 'b']) rule.declines(peer, 'c/0', true, 1, 3 * DECLINE_RETRY_MS);
    assert.equal(rule.declines('slow', 'c/1', true, 0.25, 3 * DECLINE_RETRY_MS), true, 'long forgotten: declined again');
  });

  it('declines nothing until three downloaders have asked for first copies lately: with two, the median is one of them', () => {
    // Two downloaders over loopback (`npm run bench -- distribute`): the one the host ran less
    // drains at under half the other's pace, and declining it cost 1.75x a round (session 10).
    const rule = new FirstCopyRule();
    assert.equal(rule.declines('fast', 'c/0', true, 1, 0), false);
    for (let i = 1; i <= 10; i++) assert.equal(rule.declines('slower', `c/${i}`, true, 0.3, i), false, `two downloaders, block ${i}`);
    assert.equal(rule.declines('third', 'c/11', false, 1, 20), false);
    assert.equal(rule.declines('slower', 'c/12', true, 0.3, 30), false, 'a third that asked only for copies already sent does not count');
    assert.equal(rule.declines('third', 'c/13', true, 1, 40), false);
    assert.equal(rule.declines('slower', 'c/14', true, 0.3, 50), true, 'three weighed: the slower is declined');
    // The others stop asking: once their asks are older than a drain pace's memory, two are left again.
    const later = 50 + DRAIN_MEMORY_MS;
    assert.equal(rule.declines('third', 'c/15', true, 1, later - 1), false);
    assert.equal(rule.declines('slower', 'c/16', true, 0.3, later), false, "'fast' has not asked for a drain pace's memory");
    assert.equal(new FirstCopyRule(FIRST_COPY_MIN_SHARE, 2).declines('slow', 'c/1', true, 0.25, 0), false, 'one downloader is never declined');
  });

  it('declines a block to others while its first copy is on its way to a fast drain, and not once it is out', () => {
    const rule = new FirstCopyRule();
    for (const peer of ['a', 'b', 'c']) rule.declines(peer, `c/${peer}`, true, 1, 0);
    rule.sending('a', 'c/0', 1);
    assert.equal(rule.elsewhere('b', 'c/0', 10), true, "'a' relays it as it arrives");
    assert.equal(rule.elsewhere('a', 'c/0', 10), false, 'its own copy');
    assert.equal(rule.elsewhere('b', 'c/1', 10), false, 'another block');
    rule.done('b', 'c/0');
    assert.equal(rule.elsewhere('b', 'c/0', 10), true, "only 'a''s copy ends it");
    rule.done('a', 'c/0');
    assert.equal(rule.elsewhere('b', 'c/0', 20), false, 'sent (or given up)');
    rule.sending('slow', 'c/2', 0.25);
    assert.equal(rule.elsewhere('b', 'c/2', 20), false, "a slow drain's copy would reach the others at its pace");
    const two = new FirstCopyRule();
    for (const peer of ['a', 'b']) two.declines(peer, `c/${peer}`, true, 1, 0);
    two.sending('a', 'c/0', 1);
    assert.equal(two.elsewhere('b', 'c/0', 0), false, 'two downloaders: as with slow drains, nothing is declined');
    const off = new FirstCopyRule(0);
    for (const peer of ['a', 'b', 'c']) off.declines(peer, `c/${peer}`, true, 1, 0);
    off.sending('a', 'c/0', 1);
    assert.equal(off.elsewhere('b', 'c/0', 0), false, 'the rule off declines nothing');
  });

  it("the limiter declines a block to others while its first copy waits for a slot or is being sent, and not once it is out or given up", async () => {
    const limiter = new UploadLimiter(0, 1, 2, () => 0);
    for (const peer of ['a', 'b', 'c']) limiter.declinesFirstCopy(peer, `c/${peer}`, true);
    const sending = await limiter.acquire(MiB, undefined, 'a', 'c/0');
    assert.equal(limiter.declinesFirstCopy('b', 'c/0', false), 'elsewhere');
    sending();
    assert.equal(limiter.declinesFirstCopy('b', 'c/0', false), false);
    const other = await limiter.acquire(MiB, undefined, 'x');
    const abort = new AbortController();
    const waiting = limiter.acquire(MiB, abort.signal, 'a', 'c/1');
    assert.equal(limiter.declinesFirstCopy('b', 'c/1', true), 'elsewhere', 'waiting for a slot');
    abort.abort();
    await assert.rejects(waiting);
    assert.equal(limiter.declinesFirstCopy('b', 'c/1', true), false, 'given up');
    other();
  });

  it('the limiter judges a downloader by its measured drain pace against the typical one', async () => {
    let now = 0;
    const limiter = new UploadLimiter(0, 4, 2, () => now, FIRST_COPY_MIN_SHARE);
    assert.equal(limiter.declinesFirstCopy('slow', 'c/0', true), false, 'nothing measured yet');
    // 'fast' and 'fast2' drain 4 MiB in 0.4 s, 'slow' in 1.6 s (a quarter of their pace), and
    // 'solo' in 0.1 s (it had an idle link to itself): the typical pace is the fast ones'.
    for (const [peer, ms] of [['fast', 400], ['fast2', 400], ['slow', 1_600], ['solo', 100]] as const) {
      const release = await limiter.acquire(4 * MiB, undefined, peer);
      now += ms;
      release();
    }
    assert.equal(limiter.declinesFirstCopy('fast', 'c/1', true), false, 'a quarter of the best pace, but typical');
    assert.equal(limiter.declinesFirstCopy('slow', 'c/1', true), false, 'only two have asked for first copies: the median is not a typical pace');
    assert.equal(limiter.declinesFirstCopy('fast2', 'c/2', true), false);
    assert.equal(limiter.declinesFirstCopy('slow', 'c/1', false), false, 'a copy already sent is sent again');
    assert.equal(limiter.declinesFirstCopy('slow', 'c/3', true), 'slow', 'three weighed');
    assert.equal(limiter.declinesFirstCopy('slow', 'c/3', true), false, 'once');
    // A node's limiter (the default threshold) runs the rule (upload-limiter.ts says why).
    const node = new UploadLimiter(0, 4, 2, () => now);
    for (const [peer, ms] of [['fast', 400], ['fast2', 400], ['slow', 1_600]] as const) {
      const release = await node.acquire(4 * MiB, undefined, peer);
      now += ms;
      release();
    }
    for (const peer of ['fast', 'fast2']) node.declinesFirstCopy(peer, `c/${peer}`, true);
    assert.equal(node.declinesFirstCopy('slow', 'c/2', true), 'slow');
  });

  it('a declined downloader takes the block from a peer, asks the origin again only if none has it, and at once for a waiting client', () => {
    const s = downloader();
    const [declined] = asked(s.schedule(0), 'origin');
    const [b] = asked(s.handle({ type: 'failure', peer: 'origin', index: declined!, kind: 'declined' }, 10), 'origin');
    assert.notEqual(b, declined, 'another block is asked of the origin instead');
    const [c] = asked(s.handle({ type: 'block', peer: 'origin', index: b!, valid: true }, 500), 'origin');
    assert.ok(c !== undefined && c !== declined);
    assert.deepEqual(s.handle({ type: 'block', peer: 'origin', index: c, valid: true }, 900), [], 'the declined block waits for another holder');
    assert.deepEqual(asked(s.handle({ type: 'peer-has', peer: 'peer', index: declined! }, 1_000), 'peer'), [declined]);
    // That holder loses it (a relay that failed): with nothing else to do, and only then, the origin is asked again.
    s.handle({ type: 'failure', peer: 'peer', index: declined!, kind: 'lost' }, 1_100);
    assert.deepEqual(s.handle({ type: 'tick' }, 1_100 + LIFT_IDLE_MS / 2), []);
    assert.deepEqual(asked(s.handle({ type: 'tick' }, 1_100 + LIFT_IDLE_MS), 'origin'), [declined]);
    // A client waiting for a declined block asks the origin again at once (which then sends it).
    const u = downloader();
    const [d] = asked(u.schedule(0), 'origin');
    u.handle({ type: 'failure', peer: 'origin', index: d!, kind: 'declined' }, 10);
    u.handle({ type: 'block', peer: 'origin', index: [0, 1, 2].find((i) => i !== d)!, valid: true }, 20);
    assert.ok(asked(u.handle({ type: 'urgent', index: d!, deadline: 5_000 }, 30), 'origin').includes(d!));
  });

  it('a declined downloader with other work waits for a holder, and once idle asks the origin again long before the retry', () => {
    // Session 9's distribute stall: two downloaders, the slower declined blocks nobody fetched,
    // both idle until the 30 s retry. Busy (a block in flight from the peer), the declined one
    // waits; with nothing in flight for LIFT_IDLE_MS and no holder, it asks the origin again.
    const s = downloader();
    const [declined] = asked(s.schedule(0), 'origin');
    s.handle({ type: 'failure', peer: 'origin', index: declined!, kind: 'declined' }, 10);
    const others = [0, 1, 2].filter((i) => i !== declined);
    for (const i of others) s.handle({ type: 'peer-has', peer: 'peer', index: i }, 20);
    // The others come slowly from the origin and the peer: busy until 20 s.
    let now = 20;
    for (const i of others) {
      now += 10_000;
      const actions = s.handle({ type: 'block', peer: s.peerIds().find((id) => id === 'peer')!, index: i, valid: true }, now);
      assert.ok(!asked(actions, 'origin').includes(declined!), `busy at ${now} ms: not asked again`);
    }
    assert.deepEqual(s.handle({ type: 'tick' }, now + LIFT_IDLE_MS / 2), [], 'just idle: still waits');
    assert.deepEqual(asked(s.handle({ type: 'tick' }, now + LIFT_IDLE_MS), 'origin'), [declined], 'idle: asks the origin again');
    assert.ok(now + LIFT_IDLE_MS < DECLINE_RETRY_MS);
  });

  it("the seed's notice hands a declined block to the next member in its order, which asks for it at once", () => {
    const members = ['fast', 'slow', 'third'];
    // A block owned by 'slow' whose next member in rendezvous order is 'fast'.
    const order = (i: number) => [...members].sort((a, b) => mixedHash(`${b}:${i}`) - mixedHash(`${a}:${i}`));
    const index = Array.from({ length: 64 }, (_, i) => i).find((i) => order(i)[0] === 'slow' && order(i)[1] === 'fast')!;
    const mine = Array.from({ length: 64 }, (_, i) => i).filter((i) => order(i)[0] === 'fast');
    const make = () => {
      const s = new SwarmScheduler({ lengths: Array.from({ length: 64 }, () => 4 * MiB), have: new Bitfield(64), wanted: () => true, maxInFlight: 16, maxInFlightPerPeer: 4 });
      s.addPeer('origin', Bitfield.full(64), IDLE, 2, true);
      s.addPeer('slow', new Bitfield(64), IDLE, 2, false);
      return s;
    };
    const join = (s: SwarmScheduler) => asked(s.handle({ type: 'swarm', selfId: 'fast', members }, 0), 'origin');
    // Without a notice, 'fast' takes its own blocks (and those of 'third', which it does not
    // see) and leaves the slow member's to it.
    const f = make();
    assert.ok(!fromOrigin(f, join(f)).includes(index), "the slow member's block is left to it");
    // Told the origin declined it to 'slow', 'fast' asks for it among its own, not once idle at the seed.
    const g = make();
    const first = join(g);
    const got = fromOrigin(g, [...first, ...asked(g.handle({ type: 'seeded', index, declined: 'slow' }, 0), 'origin')]);
    assert.ok(got.includes(index), 'handed on: asked of the seed');
    assert.ok(got.indexOf(index) <= mine.filter((i) => i < index).length, 'in index order among its own');
    // Once a peer holds it, it is not asked of the seed as handed on.
    const h = make();
    const pending = join(h);
    h.handle({ type: 'peer-has', peer: 'slow', index }, 0);
    pending.push(...asked(h.handle({ type: 'seeded', index, declined: 'slow' }, 0), 'origin'));
    assert.ok(!fromOrigin(h, pending).includes(index));
  });
});

describe('an owner and the seed', () => {
  it('an owner does not take its own block from the seed once a peer can serve it: the seed would send it twice', () => {
    // Session 13: slow owners asked the origin at the end for their own blocks, which fast
    // helpers had long taken from it (`canopy sim swarm --nodes 8 --slow 2`: origin egress 1.08).
    const members = ['me', 'other'];
    const owner = (i: number) => [...members].sort((a, b) => mixedHash(`${b}:${i}`) - mixedHash(`${a}:${i}`))[0];
    const own = Array.from({ length: 8 }, (_, i) => i).filter((i) => owner(i) === 'me');
    const make = () => {
      const s = new SwarmScheduler({ lengths: Array.from({ length: 8 }, () => 4 * MiB), have: new Bitfield(8), wanted: (i) => own.includes(i), maxInFlight: 16, maxInFlightPerPeer: 4 });
      s.addPeer('origin', Bitfield.full(8), IDLE, 2, true);
      const other = new Bitfield(8);
      for (const i of own) other.set(i);
      s.addPeer('other', other, IDLE, 2, false);
      return s;
    };
    assert.ok(own.length >= 2);
    const s = make();
    const actions = s.handle({ type: 'swarm', selfId: 'me', members }, 0);
    assert.deepEqual(asked(actions, 'origin'), []);
    assert.ok(asked(actions, 'other').length > 0, 'asked of the peer');
    // A peer that refuses it (its store lost it) does not serve it: then the seed is asked.
    const t = make();
    const first = asked(t.handle({ type: 'swarm', selfId: 'me', members }, 0), 'other')[0]!;
    assert.deepEqual(asked(t.handle({ type: 'failure', peer: 'other', index: first, kind: 'refused' }, 10), 'origin'), [first]);
  });
});

describe('who fetches a block the origin declined', () => {
  it('the next member in its order that the origin has not declined lately, and that one again once the mark is old', () => {
    const members = ['a', 'b', 'c', 'd'];
    const order = (i: number) => [...members].sort((x, y) => mixedHash(`${y}:${i}`) - mixedHash(`${x}:${i}`));
    const s = new SwarmState([4 * MiB, 4 * MiB], new Bitfield(2), () => true);
    s.setSwarm('a', members, 0, 0);
    const [first, second, third] = order(0);
    assert.equal(s.designee(0, 0), first, 'nothing declined: the owner');
    s.declinedTo(0, first!, 0);
    assert.equal(s.designee(0, 0), second);
    // The second is declined another block: it is skipped for block 0 too, until its mark is old.
    s.declinedTo(1, second!, 1_000);
    assert.equal(s.designee(0, 2_000), third);
    assert.equal(s.designee(0, 1_000 + SLOW_MEMORY_MS), second);
    assert.notEqual(s.designee(0, 1_000 + SLOW_MEMORY_MS), first, 'the one declined this block never gets it back while others remain');
  });
});

/**
 * Every block `s` asks of the origin, in order, each delivered 5 ms after it is asked: one
 * second of simulated time at most, less than a helper waits idle before it takes others' blocks.
 */
function fromOrigin(s: SwarmScheduler, pending: number[]): number[] {
  const got: number[] = [];
  let now = 0;
  while (pending.length > 0 && now < 1_000) {
    const index = pending.shift()!;
    got.push(index);
    pending.push(...asked(s.handle({ type: 'block', peer: 'origin', index, valid: true }, (now += 5)), 'origin'));
  }
  return got;
}

/** Three blocks wanted, one request at a time; the origin holds all, a peer none yet. */
function downloader(): SwarmScheduler {
  const s = new SwarmScheduler({ lengths: Array.from({ length: 4 }, () => 4 * MiB), have: new Bitfield(4), wanted: (i) => i < 3, maxInFlight: 1, maxInFlightPerPeer: 1 });
  s.addPeer('origin', Bitfield.full(4), IDLE, 2, true);
  s.addPeer('peer', new Bitfield(4), IDLE, 2, false);
  return s;
}
