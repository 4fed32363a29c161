/**
 * Which block to ask of a given peer: the rarest wanted block it has (spreading blocks the
 * swarm lacks), from a seed the blocks rendezvous hashing designates to this node first (so
 * the origin sends each block about once), and in the endgame a copy of a request that is
 * overdue everywhere it was asked. Reads the swarm state; changes nothing.
 */
import type { PeerState } from './peer-state.js';
import type { SwarmState } from './swarm-state.js';

/** A second copy of a block is asked only in the endgame or for a late urgent block, and never a third. */
export const MAX_COPIES = 2;
/** The seed has had nothing from us this long: blocks designated to others may be taken. */
const STEAL_IDLE_MS = 1_500;

export type Ties = 'random' | 'low' | 'hash';

export function pickRarest(s: SwarmState, p: PeerState, accept: (index: number) => boolean, ties: Ties, random: () => number): number | undefined {
  let best: number | undefined;
  let bestAvail = Infinity;
  let tied = 0;
  for (const i of s.wantedMissing) {
    if (s.asked.get(i)?.size || !p.canServe(i) || !accept(i)) continue;
    const a = s.availability[i]!;
    if (a < bestAvail) {
      best = i;
      bestAvail = a;
      tied = 1;
    } else if (a === bestAvail && (ties === 'low' ? i < best! : ties === 'hash' ? s.rendezvous.helperScore(i) > s.rendezvous.helperScore(best!) : random() * ++tied < 1)) {
      best = i;
    }
  }
  return best;
}

/**
 * From a seed: first the blocks designated to this node; then blocks no peer has yet that
 * nobody else will get from the seed soon (seeded long enough ago to have spread, or
 * designated to a member we do not see, or anything once the seed has waited for us a while).
 */
export class SeedChoice {
  private readonly idleSince = new Map<string, number>();

  constructor(private readonly graceMs: number) {}

  pick(s: SwarmState, p: PeerState, now: number, seeds: number, random: () => number): number | undefined {
    const grace = Math.max(this.graceMs, ((3 * s.blockLength) / p.rate()) * 1000);
    const recent = (i: number) => now - (s.seededAt.get(i) ?? -Infinity) < grace;
    const rv = s.rendezvous;
    // Owners take their blocks from the front (a block the seed declined to its owner goes to
    // the next member in its order, skipping slow ones); helpers (below) take others' in a hash order.
    const designee = (i: number) => s.designee(i, now);
    // A block handed on to us (not ours by the designation) only while no peer has it yet; one
    // ours by the designation only while no peer can serve it to us: once one can, a copy from
    // the seed is the seed's second. Without this, slow owners fetched their own blocks from the
    // origin at the end, long after faster helpers had taken them (`canopy sim swarm --nodes 8
    // --slow 2 --size 128MiB --placement lan`, 10 seeds: origin egress 1.078 -> 1.025).
    const mine = pickRarest(s, p, (i) => designee(i) === rv.selfId && !recent(i) && (s.availability[i]! <= seeds || (rv.owner(i) === rv.selfId && !s.peerServes(i))), 'low', random);
    if (mine !== undefined) return mine;
    // Blocks designated to others are taken only when they seem stuck: seeded long ago and
    // still at no peer, designated to a member we do not see, or (an owner that does not
    // want them, or is slow because its own link is busy) the seed has waited for us a while:
    // then each helper takes them in its own hash order, so helpers rarely collide.
    const idleSince = this.idleSince.get(p.id) ?? now;
    const waited = p.inFlight.size === 0 && now - idleSince >= STEAL_IDLE_MS;
    const pick = pickRarest(s, p, (i) => s.availability[i]! <= seeds && !recent(i) && (s.seededAt.has(i) || waited || !s.peers.has(designee(i)!)), 'hash', random);
    if (pick === undefined && !this.idleSince.has(p.id)) this.idleSince.set(p.id, now);
    if (pick !== undefined) this.idleSince.delete(p.id);
    return pick;
  }
}

/** Endgame: an idle peer copies the oldest request that is overdue everywhere it was asked. */
export function pickEndgame(s: SwarmState, p: PeerState, now: number): number | undefined {
  if (p.inFlight.size > 0) return undefined;
  for (const i of s.wantedMissing) if (!s.asked.get(i)?.size) return undefined;
  let oldest: number | undefined;
  let oldestAt = Infinity;
  for (const [i, ids] of s.asked) {
    if (ids.size === 0 || ids.size >= MAX_COPIES || ids.has(p.id) || !p.canServe(i)) continue;
    let at = Infinity;
    let overdue = true;
    const length = s.lengths[i]!;
    for (const id of ids) {
      const q = s.peers.get(id);
      at = Math.min(at, q?.inFlight.get(i) ?? Infinity);
      // A second copy only of a block that is overdue everywhere it was asked, judged by each
      // peer's own measured pace: an on-time block duplicated is upload (often the origin's)
      // spent for nothing, and the copy that arrives second is bytes received for nothing.
      if (q && !q.overdue(i, length, now)) overdue = false;
    }
    if (overdue && at < oldestAt) {
      oldest = i;
      oldestAt = at;
    }
  }
  return oldest;
}
