/**
 * The swarm scheduler as a pure core: peers, blocks and a clock are all given, so each
 * policy (parallelism, proximity, congestion, rarest-first, deadlines, endgame, stalls,
 * corrupt data, resume, placement, the origin sending each block once) is checked exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import type { PeerLoad } from '../../../src/swarm/peer-state.js';
import { Rendezvous } from '../../../src/swarm/rendezvous.js';
import { MAX_URGENT_BYTES, STALL_MIN_MS, SwarmScheduler, type SwarmAction } from '../../../src/swarm/scheduler.js';

const MiB = 2 ** 20;
const IDLE: PeerLoad = { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 };

function scheduler(blocks: number, options: Partial<ConstructorParameters<typeof SwarmScheduler>[0]> = {}): SwarmScheduler {
  let seed = 1;
  return new SwarmScheduler({
    lengths: Array.from({ length: blocks }, () => MiB),
    have: new Bitfield(blocks),
    wanted: () => true,
    random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647),
    ...options,
  });
}

function holding(blocks: number, indices: number[] | 'all'): Bitfield {
  if (indices === 'all') return Bitfield.full(blocks);
  const b = new Bitfield(blocks);
  indices.forEach((i) => b.set(i));
  return b;
}

const requests = (actions: SwarmAction[]) => actions.filter((a): a is Extract<SwarmAction, { type: 'request' }> => a.type === 'request');
const byPeer = (actions: SwarmAction[]) => requests(actions).reduce<Record<string, number[]>>((acc, a) => ((acc[a.peer] ??= []).push(a.index), acc), {});

describe('swarm scheduler', () => {
  it('asks several peers in parallel, several requests in flight to each', () => {
    const s = scheduler(40, { maxInFlightPerPeer: 3, maxInFlight: 9 });
    for (const p of ['a', 'b', 'c']) s.addPeer(p, holding(40, 'all'), IDLE, 10, false);
    const asked = byPeer(s.schedule(0));
    assert.deepEqual(Object.values(asked).map((l) => l.length), [3, 3, 3]);
    assert.equal(new Set(Object.values(asked).flat()).size, 9, 'no block is asked twice');
  });

  it('prefers the nearest peer when the pipeline is short', () => {
    const s = scheduler(40, { maxInFlightPerPeer: 2, maxInFlight: 2 });
    s.addPeer('far', holding(40, 'all'), IDLE, 80, false);
    s.addPeer('near', holding(40, 'all'), IDLE, 2, false);
    assert.deepEqual(Object.keys(byPeer(s.schedule(0))), ['near']);
  });

  it('prefers the least congested peer, and re-evaluates as load reports change', () => {
    const s = scheduler(40, { maxInFlightPerPeer: 2, maxInFlight: 2 });
    s.addPeer('busy', holding(40, 'all'), { uploads: 12, queuedBytes: 40 * MiB, rate: 12e6, cap: 12.5e6 }, 2, false);
    s.addPeer('idle', holding(40, 'all'), { uploads: 0, queuedBytes: 0, rate: 0, cap: 12.5e6 }, 20, false);
    assert.deepEqual(Object.keys(byPeer(s.schedule(0))), ['idle']);
    const s2 = scheduler(40, { maxInFlightPerPeer: 2, maxInFlight: 2 });
    s2.addPeer('x', holding(40, 'all'), IDLE, 2, false);
    s2.addPeer('y', holding(40, 'all'), IDLE, 3, false);
    s2.updatePeer('x', { uploads: 20, queuedBytes: 80 * MiB, rate: 12e6, cap: 12.5e6 }, 2);
    assert.deepEqual(Object.keys(byPeer(s2.schedule(0))), ['y']);
  });

  it('fetches the rarest block first', () => {
    const s = scheduler(10, { maxInFlightPerPeer: 1, maxInFlight: 1 });
    s.addPeer('a', holding(10, 'all'), IDLE, 10, false);
    s.addPeer('b', holding(10, [0, 1, 2, 3, 4, 5, 6, 8, 9]), IDLE, 10, false);
    s.addPeer('c', holding(10, [0, 1, 2, 3, 4, 5, 6, 8, 9]), IDLE, 10, false);
    assert.deepEqual(requests(s.schedule(0)).map((r) => r.index), [7]);
  });

  it('learns new blocks from have messages and serves them in the next schedule', () => {
    const s = scheduler(4, { maxInFlightPerPeer: 4 });
    s.addPeer('a', holding(4, []), IDLE, 10, false);
    assert.equal(requests(s.schedule(0)).length, 0);
    s.peerHas('a', 2);
    assert.deepEqual(requests(s.schedule(1)).map((r) => r.index), [2]);
  });

  it('puts a block a client waits for before any prefetch, and in deadline order', () => {
    const s = scheduler(100, { maxInFlightPerPeer: 2, maxInFlight: 2 });
    s.addPeer('a', holding(100, 'all'), IDLE, 10, false);
    s.urgent(70, 5_000);
    s.urgent(90, 1_000);
    assert.deepEqual(requests(s.schedule(0)).map((r) => r.index).slice(0, 2), [90, 70]);
  });

  it('in the endgame asks an idle peer for the last block once its first copy is late, and cancels the slower copy', () => {
    const s = scheduler(1, { maxInFlightPerPeer: 2 });
    s.addPeer('slow', holding(1, 'all'), IDLE, 10, false);
    const first = requests(s.schedule(0));
    assert.deepEqual(first.map((r) => r.peer), ['slow']);
    s.addPeer('fast', holding(1, 'all'), IDLE, 10, false);
    // On time (a 1 MiB block at the default rate takes under 100 ms), or late by less than
    // twice that plus a second of slack (a busy machine's timers): no second copy yet.
    assert.deepEqual(requests(s.schedule(100)), []);
    assert.deepEqual(requests(s.schedule(1_000)), []);
    assert.deepEqual(requests(s.schedule(1_300)).map((r) => `${r.peer}/${r.index}`), ['fast/0']);
    const after = s.onBlock('fast', 0, true, 1_400);
    assert.deepEqual(after, [{ type: 'cancel', peer: 'slow', index: 0 }]);
    assert.deepEqual(s.schedule(1_401), [{ type: 'complete' }]);
  });

  it('takes requests away from a stalled peer, chokes it, and asks another', () => {
    const s = scheduler(2, { maxInFlightPerPeer: 2 });
    s.addPeer('stuck', holding(2, 'all'), IDLE, 1, false);
    assert.equal(requests(s.schedule(0)).length, 2);
    s.addPeer('ok', holding(2, 'all'), IDLE, 50, false);
    const later = s.schedule(STALL_MIN_MS + 1);
    assert.deepEqual(later.filter((a) => a.type === 'cancel').map((a) => (a as { peer: string }).peer), ['stuck', 'stuck']);
    assert.deepEqual(Object.keys(byPeer(later)), ['ok']);
  });

  it('never asks a peer again for a block it sent corrupt, and bans it after repeated corruption', () => {
    const s = scheduler(3, { maxInFlightPerPeer: 1, maxInFlight: 1 });
    s.addPeer('evil', holding(3, 'all'), IDLE, 1, false);
    const [r] = requests(s.schedule(0));
    assert.deepEqual(s.onBlock('evil', r!.index, false, 10), []);
    const [r2] = requests(s.schedule(11));
    assert.notEqual(r2!.index, r!.index);
    const banned = s.onBlock('evil', r2!.index, false, 20);
    assert.deepEqual(banned.map((a) => a.type), ['ban']);
    assert.deepEqual(s.peerIds(), []);
    s.addPeer('good', holding(3, 'all'), IDLE, 1, false);
    assert.equal(requests(s.schedule(30)).length, 1);
  });

  it('resumes: only missing blocks are asked for, and a complete content needs nothing', () => {
    const s = scheduler(6, { have: holding(6, [0, 1, 2, 4]) });
    s.addPeer('a', holding(6, 'all'), IDLE, 1, false);
    assert.deepEqual(requests(s.schedule(0)).map((r) => r.index).sort(), [3, 5]);
    const done = scheduler(3, { have: holding(3, 'all') });
    assert.deepEqual(done.schedule(0), [{ type: 'complete' }]);
  });

  it('prefetches only what the placement wants; on-demand blocks come when asked for', () => {
    const prefix = scheduler(10, { wanted: (i) => i < 3 });
    prefix.addPeer('a', holding(10, 'all'), IDLE, 1, false);
    assert.deepEqual(requests(prefix.schedule(0)).map((r) => r.index).sort(), [0, 1, 2]);
    const onDemand = scheduler(10, { wanted: () => false });
    onDemand.addPeer('a', holding(10, 'all'), IDLE, 1, false);
    assert.deepEqual(onDemand.schedule(0), [{ type: 'complete' }]);
    onDemand.urgent(6, 1_000);
    assert.deepEqual(requests(onDemand.schedule(1)).map((r) => r.index), [6]);
  });

  it('downloaders ask the origin for disjoint blocks, and skip what it has just sent elsewhere', () => {
    const members = ['n1', 'n2', 'n3'];
    const fromOrigin = members.map((self) => {
      const s = scheduler(30, { maxInFlightPerPeer: 30, maxInFlight: 30 });
      s.setSwarm(self, members);
      s.addPeer('origin', holding(30, 'all'), IDLE, 1, true);
      for (const m of members.filter((x) => x !== self)) s.addPeer(m, holding(30, []), IDLE, 1, false);
      return requests(s.schedule(0)).map((r) => r.index);
    });
    const all = fromOrigin.flat();
    assert.equal(new Set(all).size, all.length, `overlap: ${JSON.stringify(fromOrigin)}`);

    const s = scheduler(4, { maxInFlightPerPeer: 4, seedGraceMs: 5_000 });
    s.setSwarm('n1', ['n1']);
    s.addPeer('origin', holding(4, 'all'), IDLE, 1, true);
    s.addPeer('n2', holding(4, []), IDLE, 1, false);
    s.seeded(0, 0);
    s.seeded(1, 0);
    // One request at a time until the seed's pace is measured, then two: never a block it has just sent.
    assert.deepEqual(requests(s.schedule(10)).map((r) => r.index), [2]);
    assert.deepEqual(requests(s.handle({ type: 'block', peer: 'origin', index: 2, valid: true }, 400)).map((r) => r.index), [3]);
  });

  it('takes from the seed at once the blocks it sent to a member that has left the swarm (issue 24 item 3)', () => {
    // n1 and bad share the origin's blocks; the origin has sent bad its designated ones
    // (seeded notices), then bad leaves the swarm (its store refuses blocks): n1 must not
    // wait out the seeded grace for relays that will never come.
    const rv = new Rendezvous();
    rv.set('n1', ['n1', 'bad']);
    const theirs = [...Array(16).keys()].filter((i) => rv.owner(i) === 'bad');
    assert.ok(theirs.length > 0 && theirs.length < 16);
    const run = (leaves: boolean): number[] => {
      const s = scheduler(16, { maxInFlightPerPeer: 8, maxInFlight: 8, seedGraceMs: 8_000 });
      s.setSwarm('n1', ['n1', 'bad']);
      s.addPeer('origin', holding(16, 'all'), IDLE, 1, true);
      s.addPeer('bad', holding(16, []), IDLE, 1, false);
      const asked = requests(s.schedule(0)).map((r) => r.index);
      for (const i of theirs) s.seeded(i, 5);
      if (leaves) s.handle({ type: 'swarm', selfId: 'n1', members: ['n1'] }, 10);
      const seen: number[] = [];
      // Each block n1 asked for arrives; what it asks next is recorded, well within the grace.
      for (let t = 20; asked.length > 0 && t < 1_000; t += 10) {
        const next = asked.shift()!;
        const more = requests(s.handle({ type: 'block', peer: 'origin', index: next, valid: true }, t)).map((r) => r.index);
        seen.push(...more);
        asked.push(...more);
      }
      return seen;
    };
    assert.deepEqual(run(false).filter((i) => theirs.includes(i)), [], 'while bad is a member, its blocks wait for its relay');
    assert.deepEqual(run(true).filter((i) => theirs.includes(i)).sort(), [...theirs].sort(), 'once it has left, n1 takes them from the origin');
  });

  it('ignores a seeded notice that arrives after its recipient left the swarm (issue 24 item 3)', () => {
    // The origin served bad's last requests after n1 had taken bad out of its swarm: the
    // notices arrive late. Blocks bad owned now fall to n1 or n2 and must not wait out the
    // grace; a notice about a block a live member owns still holds n1 back.
    const rv = new Rendezvous();
    rv.set('n1', ['n1', 'n2', 'bad']);
    const badOwned = [...Array(32).keys()].filter((i) => rv.owner(i) === 'bad');
    const n2Owned = [...Array(32).keys()].filter((i) => rv.owner(i) === 'n2');
    rv.set('n1', ['n1', 'n2']);
    const nowMine = badOwned.filter((i) => rv.owner(i) === 'n1');
    assert.ok(nowMine.length > 0 && n2Owned.length > 0);
    const s = scheduler(32, { maxInFlightPerPeer: 32, maxInFlight: 32, seedGraceMs: 8_000 });
    s.setSwarm('n1', ['n1', 'n2', 'bad'], 0);
    s.addPeer('origin', holding(32, []), IDLE, 1, true);
    s.addPeer('n2', holding(32, []), IDLE, 1, false);
    s.handle({ type: 'swarm', selfId: 'n1', members: ['n1', 'n2'] }, 100);
    for (const i of [...badOwned, ...n2Owned]) s.handle({ type: 'seeded', index: i }, 200);
    // The origin holds only the blocks in question; each block n1 asks for arrives, and what
    // it asks next is recorded, all well within the grace.
    for (const i of [...nowMine, ...n2Owned]) s.peerHas('origin', i);
    const asked = requests(s.schedule(300)).map((r) => r.index);
    const seen = [...asked];
    for (let t = 310; asked.length > 0 && t < 2_000; t += 10) {
      const more = requests(s.handle({ type: 'block', peer: 'origin', index: asked.shift()!, valid: true }, t)).map((r) => r.index);
      seen.push(...more);
      asked.push(...more);
    }
    assert.deepEqual(seen.sort(), [...nowMine].sort(), "bad's blocks that fell to n1 are asked at once, n2's seeded ones are held back");
    // Long after bad left, a notice counts again, whoever owned the block before.
    assert.equal(rv.sentToDeparted(nowMine[0]!, 1_000, 16_000), true);
    assert.equal(rv.sentToDeparted(nowMine[0]!, 16_001, 16_000), false);
  });

  it('asks the seed at once for a block it sent to a relay that then lost it or whose store failed (issue 24 item 3)', () => {
    // bad took from the origin a block designated to n1 (it did not see n1 yet): the origin's
    // seeded notice holds n1 back, and bad's `have` (relay) points n1 to it. bad's store then
    // fails: its relay is lost, or it answers that its store failed. Nobody else will relay
    // the block, so n1 must ask the origin now, not when the seeded grace runs out (8 s).
    const rv = new Rendezvous();
    rv.set('n1', ['n1', 'n2', 'bad']);
    const mine = [...Array(8).keys()].find((i) => rv.owner(i) === 'n1')!;
    for (const kind of ['lost', 'unservable'] as const) {
      const s = scheduler(8, { have: holding(8, [...Array(8).keys()].filter((i) => i !== mine)), seedGraceMs: 8_000 });
      s.setSwarm('n1', ['n1', 'n2', 'bad']);
      s.addPeer('origin', holding(8, 'all'), IDLE, 1, true);
      s.addPeer('n2', holding(8, []), IDLE, 1, false);
      s.addPeer('bad', holding(8, []), IDLE, 1, false);
      s.seeded(mine, 0);
      s.peerHas('bad', mine);
      assert.deepEqual(requests(s.schedule(10)), [{ type: 'request', peer: 'bad', index: mine }], 'the relay is asked, the seed not');
      assert.deepEqual(requests(s.handle({ type: 'failure', peer: 'bad', index: mine, kind }, 20)), [{ type: 'request', peer: 'origin', index: mine }], kind);
    }
  });

  it('stops asking a peer whose store fails: it costs no more than a dead one', () => {
    const s = scheduler(6, { maxInFlightPerPeer: 2, maxInFlight: 4 });
    s.addPeer('broken', holding(6, 'all'), IDLE, 1, false);
    s.addPeer('ok', holding(6, 'all'), { ...IDLE, cap: 1e6 }, 50, false);
    const first = byPeer(s.schedule(0));
    const [a, b] = first.broken!;
    assert.deepEqual(s.onFailure('broken', a!, 'unservable', 10), []);
    const dropped = s.onFailure('broken', b!, 'unservable', 20);
    assert.deepEqual(dropped.map((x) => x.type), ['ban']);
    assert.ok(!s.peerIds().includes('broken'));
    for (let t = 30; t < 200; t += 10) assert.equal(byPeer(s.schedule(t)).broken, undefined);
  });

  it('asks one request beyond the in-flight budget while one is within its round trip (no byte of it can be arriving), and only one', () => {
    const far = scheduler(40, { maxInFlightPerPeer: 8, maxInFlight: 2 });
    far.addPeer('far', holding(40, 'all'), IDLE, 200, false);
    const first = requests(far.schedule(0)).map((r) => r.index);
    assert.equal(first.length, 2);
    assert.equal(requests(far.schedule(10)).length, 1);
    assert.equal(requests(far.schedule(20)).length, 0, 'one more, not one more per pass');
    assert.equal(requests(far.schedule(400)).length, 0, 'their round trips are over: the budget holds');
    far.onBlock('far', first[0]!, true, 450);
    far.onBlock('far', first[1]!, true, 500);
    assert.equal(requests(far.schedule(500)).length, 1);
    assert.equal(requests(far.schedule(510)).length, 1, 'the replacement is within its round trip');
    // A near peer's round trip is over before the next pass: the budget alone.
    const near = scheduler(40, { maxInFlightPerPeer: 8, maxInFlight: 2 });
    near.addPeer('near', holding(40, 'all'), IDLE, 2, false);
    assert.equal(requests(near.schedule(0)).length, 2);
    assert.equal(requests(near.schedule(10)).length, 0);
  });

  it('keeps urgent bytes in flight per content under a bound, so stalled readers hold little', () => {
    const s = scheduler(40, { wanted: () => false, maxInFlightPerPeer: 100, maxInFlight: 100 });
    s.addPeer('a', holding(40, 'all'), IDLE, 1, false);
    s.addPeer('b', holding(40, 'all'), IDLE, 1, false);
    for (let i = 0; i < 40; i++) s.urgent(i, 10_000);
    const asked = requests(s.schedule(0));
    assert.equal(asked.length, MAX_URGENT_BYTES / MiB);
    // As blocks arrive, the next ones go out.
    s.onBlock(asked[0]!.peer, asked[0]!.index, true, 50);
    assert.equal(requests(s.schedule(51)).length, 1);
  });
});
