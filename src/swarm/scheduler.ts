/**
 * The swarm scheduler for one content on one node: a pure core, events in, actions out.
 * It owns no sockets, files or clocks (every event carries `now`), so the node's downloader
 * drives it and unit tests replay events against it (the tree simulator does not use it).
 *
 * Policy, in the order it is applied on every `schedule`:
 * 1. Urgent blocks (a client is waiting: `urgent(index, deadline)`) go first, earliest
 *    deadline first, to the peer expected to deliver soonest; one that will miss its
 *    deadline is asked of a second peer too.
 * 2. Bulk prefetch fills each peer's pipeline (several requests in flight per peer, peers
 *    ranked by expected delivery time from measured RTT, measured rate and reported load),
 *    choosing the rarest wanted block that peer has, ties broken at random so nodes spread.
 *    From a seed, a node first takes the blocks rendezvous hashing designates to it among
 *    the swarm's members (so downloaders ask the origin for disjoint blocks without talking
 *    to each other), and skips blocks the seed has recently sent to someone else: they will
 *    soon be at a peer. The origin thus sends each block about once; near the end, when it
 *    has spare upload, the grace runs out and it helps spread the last blocks.
 * 3. Endgame: when every missing block is already asked for, an idle peer duplicates the
 *    oldest outstanding request; the first copy to arrive cancels the others.
 * Stalled peers (nothing delivered for a while with requests outstanding) lose their
 * requests and are choked with backoff; peers that send corrupt data are banned.
 */
import type { Bitfield } from './bitfield.js';
import { PeerState, type PeerLoad } from './peer-state.js';

export type SwarmAction =
  | { type: 'request'; peer: string; index: number }
  | { type: 'cancel'; peer: string; index: number }
  | { type: 'ban'; peer: string; reason: string }
  | { type: 'complete' };

export interface SchedulerOptions {
  /** Length in bytes of each block, in order. */
  lengths: readonly number[];
  /** Blocks already held (resume). */
  have: Bitfield;
  /** Blocks to prefetch (placement); others come only when asked for as urgent. */
  wanted: (index: number) => boolean;
  maxInFlightPerPeer?: number;
  maxInFlight?: number;
  /** How long a seed's recent send keeps us from asking the seed for the same block. */
  seedGraceMs?: number;
  random?: () => number;
}

export const STALL_MIN_MS = 8_000;
const BAD_BLOCKS_TO_BAN = 2;
const CHOKE_BASE_MS = 2_000;
const MAX_COPIES = 2;
const SEED_PIPELINE = 2;
const STEAL_IDLE_MS = 1_500;

export class SwarmScheduler {
  readonly have: Bitfield;
  private readonly peers = new Map<string, PeerState>();
  private readonly availability: Uint16Array;
  private readonly wantedMissing = new Set<number>();
  /** True while background prefetch must wait (a closed bandwidth window); urgent blocks still go. */
  bulkPaused = false;
  private readonly urgentDeadlines = new Map<number, number>();
  private readonly seededAt = new Map<number, number>();
  /** Block index → peers it is asked of. */
  private readonly asked = new Map<number, Set<string>>();
  private completed = false;
  private selfId = '';
  private members: string[] = [];
  private readonly designated = new Map<number, string>();
  private readonly seedIdleSince = new Map<string, number>();
  private readonly perPeer: number;
  private readonly total: number;
  private readonly seedGraceMs: number;
  private readonly random: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.have = options.have;
    const n = options.lengths.length;
    this.availability = new Uint16Array(n);
    for (let i = 0; i < n; i++) if (options.wanted(i) && !this.have.has(i)) this.wantedMissing.add(i);
    this.perPeer = options.maxInFlightPerPeer ?? 4;
    this.total = options.maxInFlight ?? 16;
    this.seedGraceMs = options.seedGraceMs ?? 8_000;
    this.random = options.random ?? Math.random;
  }

  get done(): boolean {
    return this.wantedMissing.size === 0 && [...this.urgentDeadlines.keys()].every((i) => this.have.has(i));
  }

  get inFlight(): number {
    let n = 0;
    for (const p of this.peers.values()) n += p.inFlight.size;
    return n;
  }

  peerIds(): string[] {
    return [...this.peers.keys()];
  }

  addPeer(id: string, have: Bitfield, load: PeerLoad, rttMs: number, isSeed: boolean): void {
    if (this.peers.has(id)) this.removePeer(id);
    const peer = new PeerState(id, have, isSeed);
    peer.load = load;
    peer.rttMs = rttMs;
    for (let i = 0; i < have.size; i++) if (have.has(i)) this.availability[i]!++;
    this.peers.set(id, peer);
  }

  /** A fresh load report and round-trip measure: peer choice is re-evaluated on every schedule. */
  updatePeer(id: string, load: PeerLoad, rttMs: number): void {
    const p = this.peers.get(id);
    if (!p) return;
    p.load = load;
    p.rttMs = p.rttMs * 0.5 + rttMs * 0.5;
  }

  peerHas(id: string, index: number): void {
    const p = this.peers.get(id);
    if (p && index < p.have.size && p.have.set(index)) this.availability[index]!++;
  }

  /** A seed tells us it has just sent this block to someone. */
  seeded(index: number, now: number): void {
    this.seededAt.set(index, now);
  }

  removePeer(id: string): void {
    const p = this.peers.get(id);
    if (!p) return;
    for (let i = 0; i < p.have.size; i++) if (p.have.has(i)) this.availability[i]!--;
    for (const index of p.inFlight.keys()) this.asked.get(index)?.delete(id);
    this.peers.delete(id);
  }

  /**
   * The downloaders of this content, self included: blocks are designated to members by
   * rendezvous hashing, and each asks seeds first for its own designated blocks.
   */
  setSwarm(selfId: string, members: readonly string[]): void {
    const sorted = [...new Set([...members, selfId])].sort();
    if (selfId === this.selfId && sorted.join() === this.members.join()) return;
    this.selfId = selfId;
    this.members = sorted;
    this.designated.clear();
  }

  /** The member that rendezvous hashing designates to fetch `index` from seeds first. */
  private owner(index: number): string {
    if (this.members.length <= 1) return this.selfId;
    let owner = this.designated.get(index);
    if (owner === undefined) {
      let bestScore = -1;
      for (const m of this.members) {
        const score = fnv1a(`${m}:${index}`);
        if (score > bestScore) {
          owner = m;
          bestScore = score;
        }
      }
      this.designated.set(index, owner!);
    }
    return owner!;
  }

  /** A client waits for this block: fetch it before any prefetch, by `deadline` if possible. */
  urgent(index: number, deadline: number): void {
    if (this.have.has(index) || index >= this.options.lengths.length) return;
    const prev = this.urgentDeadlines.get(index);
    this.urgentDeadlines.set(index, prev === undefined ? deadline : Math.min(prev, deadline));
    this.completed = false;
  }

  /** A block arrived from `peer`; `valid` is false when it did not match its hash. */
  onBlock(id: string, index: number, valid: boolean, now: number): SwarmAction[] {
    const actions: SwarmAction[] = [];
    const p = this.peers.get(id);
    const sentAt = p?.inFlight.get(index);
    p?.inFlight.delete(index);
    this.asked.get(index)?.delete(id);
    if (!valid) {
      if (p) this.penalise(p, index, actions);
      return actions;
    }
    if (p && sentAt !== undefined) p.delivered(this.options.lengths[index]!, sentAt, now);
    this.markHeld(index);
    for (const other of this.asked.get(index) ?? []) {
      this.peers.get(other)?.inFlight.delete(index);
      actions.push({ type: 'cancel', peer: other, index });
    }
    this.asked.delete(index);
    return actions;
  }

  /** A block this node got some other way (a concurrent on-demand read, a local publish). */
  markHeld(index: number): void {
    this.have.set(index);
    this.wantedMissing.delete(index);
    this.urgentDeadlines.delete(index);
  }

  /** A request failed without data: refused (`refused`) or the connection broke (`error`). */
  onFailure(id: string, index: number, kind: 'refused' | 'error', now: number): void {
    const p = this.peers.get(id);
    this.asked.get(index)?.delete(id);
    if (!p) return;
    p.inFlight.delete(index);
    if (kind === 'refused') p.refused.add(index);
    else this.choke(p, now);
  }

  /** Times out stalled peers, then schedules. Call periodically and after every event. */
  schedule(now: number): SwarmAction[] {
    const actions: SwarmAction[] = [];
    this.expireStalls(now, actions);
    this.scheduleUrgent(now, actions);
    if (!this.bulkPaused) this.scheduleBulk(now, actions);
    if (this.done && !this.completed) {
      this.completed = true;
      actions.push({ type: 'complete' });
    }
    return actions;
  }

  private penalise(p: PeerState, index: number, actions: SwarmAction[]): void {
    p.refused.add(index);
    p.badBlocks++;
    if (p.badBlocks >= BAD_BLOCKS_TO_BAN) {
      for (const i of p.inFlight.keys()) actions.push({ type: 'cancel', peer: p.id, index: i });
      this.removePeer(p.id);
      actions.push({ type: 'ban', peer: p.id, reason: `${p.badBlocks} blocks did not match their hash` });
    }
  }

  private choke(p: PeerState, now: number): void {
    p.failures++;
    p.chokedUntil = now + CHOKE_BASE_MS * 2 ** Math.min(p.failures - 1, 5);
  }

  private expireStalls(now: number, actions: SwarmAction[]): void {
    for (const p of this.peers.values()) {
      if (p.inFlight.size === 0) continue;
      const since = Math.max(p.lastDeliveryAt, Math.min(...p.inFlight.values()));
      // A peer is stalled only when it is far behind what its own rate and queue predict: a busy
      // origin serving many downloaders is slow, not stalled.
      const typical = p.measuredRate > 0 ? (this.avgLength() / p.measuredRate) * 1000 * 4 : 0;
      if (now - since < Math.max(STALL_MIN_MS, typical, 3 * p.expectedMs(this.avgLength()))) continue;
      for (const index of p.inFlight.keys()) {
        actions.push({ type: 'cancel', peer: p.id, index });
        this.asked.get(index)?.delete(p.id);
      }
      p.inFlight.clear();
      this.choke(p, now);
    }
  }

  private scheduleUrgent(now: number, actions: SwarmAction[]): void {
    const order = [...this.urgentDeadlines].sort((a, b) => a[1] - b[1]);
    for (const [index, deadline] of order) {
      const asked = this.asked.get(index);
      const copies = asked?.size ?? 0;
      if (copies >= MAX_COPIES) continue;
      const length = this.options.lengths[index]!;
      if (copies > 0) {
        const eta = Math.min(...[...asked!].map((id) => this.peers.get(id)!.expectedMs(length)));
        if (now + eta <= deadline) continue;
      }
      // Urgent requests may exceed the per-peer pipeline by one: a waiting client beats prefetch.
      const peer = this.bestPeer((p) => p.canServe(index) && !asked?.has(p.id) && p.inFlight.size <= this.perPeer, length, now);
      if (peer) this.request(peer, index, now, actions);
    }
  }

  private scheduleBulk(now: number, actions: SwarmAction[]): void {
    if (this.wantedMissing.size === 0) return;
    const length = this.avgLength();
    const ranked = [...this.peers.values()].filter((p) => !p.isChoked(now)).sort((a, b) => a.expectedMs(length) - b.expectedMs(length));
    const swarm = ranked.some((p) => !p.isSeed);
    const seeds = ranked.filter((p) => p.isSeed).length;
    let budget = this.total - this.inFlight;
    for (const p of ranked) {
      // A shallow queue at a seed keeps its choices fresh: what it sends is decided close to when it sends.
      const limit = p.isSeed && swarm ? SEED_PIPELINE : this.perPeer;
      while (budget > 0 && p.inFlight.size < limit) {
        const index = (p.isSeed && swarm ? this.pickFromSeed(p, now, seeds) : this.pickRarest(p, () => true)) ?? this.pickEndgame(p, now);
        if (index === undefined) break;
        this.request(p, index, now, actions);
        budget--;
      }
    }
  }

  /**
   * From a seed: first the blocks designated to this node; then blocks no peer has yet that
   * nobody else will get from the seed soon (seeded long enough ago to have spread, or
   * designated to a member we do not see, or anything once we have nothing else to ask of it).
   */
  private pickFromSeed(p: PeerState, now: number, seeds: number): number | undefined {
    const grace = Math.max(this.seedGraceMs, ((3 * this.avgLength()) / p.rate()) * 1000);
    const recent = (i: number) => now - (this.seededAt.get(i) ?? -Infinity) < grace;
    // Owners take their blocks from the front; helpers (below) take others' in a hash order.
    const mine = this.pickRarest(p, (i) => this.owner(i) === this.selfId && !recent(i), 'low');
    if (mine !== undefined) return mine;
    // Blocks designated to others are taken only when they seem stuck: seeded long ago and
    // still at no peer, designated to a member we do not see, or (an owner that does not
    // want them, or is slow because its own link is busy) the seed has waited for us a while:
    // then each helper takes them in its own hash order, so helpers rarely collide.
    const idleSince = this.seedIdleSince.get(p.id) ?? now;
    const waited = p.inFlight.size === 0 && now - idleSince >= STEAL_IDLE_MS;
    const pick = this.pickRarest(p, (i) => this.availability[i]! <= seeds && !recent(i) && (this.seededAt.has(i) || waited || !this.peers.has(this.owner(i))), 'hash');
    if (pick === undefined && !this.seedIdleSince.has(p.id)) this.seedIdleSince.set(p.id, now);
    if (pick !== undefined) this.seedIdleSince.delete(p.id);
    return pick;
  }

  private pickRarest(p: PeerState, accept: (index: number) => boolean, ties: 'random' | 'low' | 'hash' = 'random'): number | undefined {
    let best: number | undefined;
    let bestAvail = Infinity;
    let tied = 0;
    for (const i of this.wantedMissing) {
      if (this.asked.get(i)?.size || !p.canServe(i) || !accept(i)) continue;
      const a = this.availability[i]!;
      if (a < bestAvail) {
        best = i;
        bestAvail = a;
        tied = 1;
      } else if (a === bestAvail && (ties === 'low' ? i < best! : ties === 'hash' ? fnv1a(`${this.selfId}/${i}`) > fnv1a(`${this.selfId}/${best}`) : this.random() * ++tied < 1)) {
        best = i;
      }
    }
    return best;
  }

  private pickEndgame(p: PeerState, now: number): number | undefined {
    if (p.inFlight.size > 0) return undefined;
    for (const i of this.wantedMissing) if (!this.asked.get(i)?.size) return undefined;
    let oldest: number | undefined;
    let oldestAt = Infinity;
    for (const [i, ids] of this.asked) {
      if (ids.size >= MAX_COPIES || ids.has(p.id) || !p.canServe(i)) continue;
      const at = Math.min(...[...ids].map((id) => this.peers.get(id)?.inFlight.get(i) ?? Infinity));
      // A second copy only of a block that is late where it was asked: an on-time block
      // duplicated is upload (often the origin's) spent for nothing.
      const length = this.options.lengths[i]!;
      if (![...ids].some((id) => { const q = this.peers.get(id); return !q || now - at > q.expectedMs(length); })) continue;
      if (at < oldestAt) {
        oldest = i;
        oldestAt = at;
      }
    }
    return oldest;
  }

  private bestPeer(accept: (p: PeerState) => boolean, length: number, now: number): PeerState | undefined {
    let best: PeerState | undefined;
    for (const p of this.peers.values()) {
      if (p.isChoked(now) || !accept(p)) continue;
      if (!best || p.expectedMs(length) < best.expectedMs(length)) best = p;
    }
    return best;
  }

  private request(p: PeerState, index: number, now: number, actions: SwarmAction[]): void {
    p.inFlight.set(index, now);
    let ids = this.asked.get(index);
    if (!ids) this.asked.set(index, (ids = new Set()));
    ids.add(p.id);
    actions.push({ type: 'request', peer: p.id, index });
  }

  private avgLength(): number {
    const l = this.options.lengths;
    return l.length === 0 ? 1 : (l[0] ?? 1);
  }
}

/** FNV-1a, 32 bits: a cheap, stable hash for rendezvous scores (not for security). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
