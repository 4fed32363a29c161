/**
 * Who asks the origin for what first (issue 17, session 8): the rendezvous designation must
 * spread blocks evenly over the members (FNV-1a alone gave one member of eight a median 12 of
 * 32 blocks, and a slow member's share then reached everyone at its pace), and at the start a
 * downloader asks the origin for one block at a time until it has measured the origin's pace.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { peerPipeline, SEED_PIPELINE } from '../../../src/swarm/pipeline.js';
import { Rendezvous } from '../../../src/swarm/rendezvous.js';
import { SwarmScheduler } from '../../../src/swarm/scheduler.js';

/** Node ids as the nodes have them (16 hex digits), from a fixed generator so the test is repeatable. */
function nodeIds(count: number, seed: number): string[] {
  let x = seed;
  const hex = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8).toString(16).padStart(6, '0');
  return Array.from({ length: count }, () => (hex() + hex() + hex()).slice(0, 16));
}

describe('rendezvous designation', () => {
  it('gives each of 8 members about an eighth of 32 blocks (variance near the multinomial 3.5; FNV-1a alone: ~30)', () => {
    let squares = 0;
    let worst = 0;
    const sets = 200;
    for (let t = 0; t < sets; t++) {
      const members = nodeIds(8, t + 1);
      const rv = new Rendezvous();
      rv.set(members[0]!, members);
      const count = new Map(members.map((m) => [m, 0]));
      for (let i = 0; i < 32; i++) count.set(rv.owner(i), count.get(rv.owner(i))! + 1);
      for (const c of count.values()) squares += (c - 4) ** 2;
      worst = Math.max(worst, ...count.values());
    }
    const variance = squares / sets / 8;
    assert.ok(variance < 5, `variance of blocks per member ${variance.toFixed(2)}`);
    assert.ok(worst <= 12, `one member was designated ${worst} of 32 blocks`);
  });
});

describe('requests outstanding at a seed', () => {
  it('one until the seed is measured and two after while others share the swarm; the per-peer depth otherwise', () => {
    assert.equal(peerPipeline({ isSeed: true, measuredRate: 0 }, true, 4), 1);
    assert.equal(peerPipeline({ isSeed: true, measuredRate: 1e6 }, true, 4), SEED_PIPELINE);
    assert.equal(peerPipeline({ isSeed: true, measuredRate: 0 }, false, 4), 4);
    assert.equal(peerPipeline({ isSeed: false, measuredRate: 0 }, true, 4), 4);
  });

  it('at the start, with only the origin open and other members named, asks it for one of its own designated blocks', () => {
    const members = ['n1', 'n2', 'n3', 'n4'];
    const s = new SwarmScheduler({ lengths: Array.from({ length: 32 }, () => 4 * 2 ** 20), have: new Bitfield(32), wanted: () => true, maxInFlight: 6, maxInFlightPerPeer: 2, random: () => 0.5 });
    s.setSwarm('n1', members);
    const actions = s.handle({ type: 'peer-joined', peer: 'origin', have: Bitfield.full(32), load: { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 }, rttMs: 1, isSeed: true }, 0);
    const asked = actions.filter((a) => a.type === 'request').map((a) => (a as { index: number }).index);
    const rv = new Rendezvous();
    rv.set('n1', members);
    assert.equal(asked.length, 1, `asked ${JSON.stringify(asked)}`);
    assert.equal(rv.owner(asked[0]!), 'n1');
  });
});
