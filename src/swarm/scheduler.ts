/**
 * The swarm scheduler for one content on one node: a pure core, inputs in, actions out.
 * It owns no sockets, files or clocks (every input carries `now`): the node's session
 * (`swarm-session.ts`) and the simulator (`src/sim/swarm-sim.ts`) drive the same code
 * through `handle(input, now)`, and unit tests replay inputs against it.
 *
 * Policy, in the order it is applied on every pass:
 * 1. Urgent blocks (a client is waiting: `urgent(index, deadline)`) go first, earliest
 *    deadline first, to the peer expected to deliver soonest; one that will miss its
 *    deadline is asked of a second peer too.
 * 2. Bulk prefetch fills each peer's pipeline (several requests in flight per peer, peers
 *    ranked by expected delivery time from measured RTT, measured rate and reported load),
 *    choosing the rarest wanted block that peer has, ties broken at random so nodes spread.
 *    From a seed, a node first takes the blocks rendezvous hashing designates to it among
 *    the swarm's members (so downloaders ask the origin for disjoint blocks without talking
 *    to each other), and skips blocks the seed has recently sent to someone else: they will
 *    soon be at a peer (`block-choice.ts`).
 * 3. Endgame: when every missing block is already asked for, an idle peer duplicates the
 *    oldest request that is overdue by that peer's own pace; the first copy cancels the rest.
 * Stalled peers (nothing delivered for a while with requests outstanding) lose their
 * requests and are choked with backoff (`stalls.ts`); peers that send corrupt data are
 * banned. A block whose first copy the origin declined to send us (we drain slowly:
 * `first-copy.ts`) is taken from another holder, and asked of the origin again only if none
 * appears; a block the origin says it declined to another member goes to the next member
 * in its rendezvous order.
 */
import type { Bitfield } from './bitfield.js';
import { MAX_COPIES, pickEndgame, pickRarest, SeedChoice } from './block-choice.js';
import type { PeerLoad, PeerState } from './peer-state.js';
import { peerPipeline } from './pipeline.js';
import { choke, expireStalls } from './stalls.js';
import type { FailureKind, SwarmAction, SwarmInput } from './swarm-input.js';
import { SwarmState } from './swarm-state.js';

export type { SwarmAction, SwarmInput } from './swarm-input.js';
export { STALL_MIN_MS } from './stalls.js';

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

const BAD_BLOCKS_TO_BAN = 2;
/** Shortest wait before asking a busy holder again. */
const BUSY_MIN_MS = 200;
/** A peer whose store fails this many requests is dropped for the session: it costs no more than a dead one. */
const UNSERVABLE_TO_DROP = 2;
/** Bytes of urgent (client-waited) blocks in flight per content, at least one block: stalled clients hold little. */
export const MAX_URGENT_BYTES = 16 * 2 ** 20;

export class SwarmScheduler {
  private readonly s: SwarmState;
  /** True while background prefetch must wait (a closed bandwidth window); urgent blocks still go. */
  bulkPaused = false;
  private completed = false;
  private readonly seedChoice: SeedChoice;
  private readonly seedGraceMs: number;
  private readonly perPeer: number;
  private readonly total: number;
  private readonly random: () => number;

  constructor(options: SchedulerOptions) {
    this.s = new SwarmState(options.lengths, options.have, options.wanted);
    this.perPeer = options.maxInFlightPerPeer ?? 4;
    this.total = options.maxInFlight ?? 16;
    this.seedGraceMs = options.seedGraceMs ?? 8_000;
    this.seedChoice = new SeedChoice(this.seedGraceMs);
    this.random = options.random ?? Math.random;
  }

  get have(): Bitfield {
    return this.s.have;
  }

  get stats(): SwarmState['stats'] {
    return this.s.stats;
  }

  get done(): boolean {
    return this.s.done;
  }

  get inFlight(): number {
    return this.s.inFlight;
  }

  peerIds(): string[] {
    return [...this.s.peers.keys()];
  }

  /** The one entry point for drivers: applies an input, then schedules; returns what to do. */
  handle(input: SwarmInput, now: number): SwarmAction[] {
    this.s.noteBusy(now);
    const actions = this.apply(input, now);
    if (actions.length === 0 && !this.mayChangeChoice(input)) return actions;
    return actions.length === 0 ? this.schedule(now) : [...actions, ...this.schedule(now)];
  }

  /**
   * Whether an input can make a pass choose anything new now. A `have` for a block we do not
   * want, already hold or have already asked for, or from a peer whose pipeline is full,
   * cannot; nor can a `seeded` notice (it only holds requests back). Skipping those passes
   * keeps a node's cost per `have` constant however many neighbours it has; anything that
   * depends on time alone is picked up by the next tick.
   */
  private mayChangeChoice(input: SwarmInput): boolean {
    if (input.type === 'seeded') return input.declined !== undefined;
    if (input.type !== 'peer-has') return true;
    const p = this.s.peers.get(input.peer);
    if (!p || this.bulkPaused || this.s.inFlight >= this.total || p.inFlight.size >= this.perPeer) return this.s.urgentDeadlines.has(input.index);
    return this.s.wantedMissing.has(input.index) && !this.s.asked.get(input.index)?.size;
  }

  private apply(input: SwarmInput, now: number): SwarmAction[] {
    switch (input.type) {
      case 'peer-joined':
        this.addPeer(input.peer, input.have, input.load, input.rttMs, input.isSeed);
        return [];
      case 'peer-load':
        this.updatePeer(input.peer, input.load, input.rttMs);
        return [];
      case 'peer-has':
        this.peerHas(input.peer, input.index);
        return [];
      case 'seeded':
        if (input.declined !== undefined) this.s.declinedTo(input.index, input.declined, now);
        else this.seeded(input.index, now);
        return [];
      case 'peer-left':
        this.removePeer(input.peer);
        return [];
      case 'swarm':
        this.setSwarm(input.selfId, input.members, now);
        return [];
      case 'urgent':
        this.urgent(input.index, input.deadline);
        return [];
      case 'sent':
        this.sent(input.peer, input.index, now);
        return [];
      case 'heard':
        this.heard(input.peer, input.at);
        return [];
      case 'paused':
        this.paused(input.ms, now);
        return [];
      case 'held':
        this.markHeld(input.index);
        return [];
      case 'block':
        return this.onBlock(input.peer, input.index, input.valid, now);
      case 'failure':
        return this.onFailure(input.peer, input.index, input.kind, now);
      case 'bulk-paused':
        this.bulkPaused = input.paused;
        return [];
      case 'tick':
        return [];
    }
  }

  addPeer(id: string, have: Bitfield, load: PeerLoad, rttMs: number, isSeed: boolean): void {
    this.s.addPeer(id, have, load, rttMs, isSeed);
  }

  /** A fresh load report and round-trip measure: peer choice is re-evaluated on every schedule. */
  updatePeer(id: string, load: PeerLoad, rttMs: number): void {
    const p = this.s.peers.get(id);
    if (!p) return;
    p.load = load;
    p.rttMs = p.rttMs * 0.5 + rttMs * 0.5;
  }

  peerHas(id: string, index: number): void {
    this.s.peerHas(id, index);
  }

  /** A seed tells us it has just sent this block to someone. */
  seeded(index: number, now: number): void {
    this.s.noteSeeded(index, now, 2 * this.seedGraceMs);
  }

  removePeer(id: string): void {
    this.s.removePeer(id);
  }

  /** The downloaders, self included: each asks seeds first for the blocks rendezvous hashing designates to it. */
  setSwarm(selfId: string, members: readonly string[], now = 0): void {
    this.s.setSwarm(selfId, members, now, 2 * this.seedGraceMs);
  }

  /** A client waits for this block: fetch it before any prefetch, by `deadline` if possible. */
  urgent(index: number, deadline: number): void {
    if (this.s.have.has(index) || index >= this.s.lengths.length) return;
    const prev = this.s.urgentDeadlines.get(index);
    this.s.urgentDeadlines.set(index, prev === undefined ? deadline : Math.min(prev, deadline));
    this.completed = false;
  }

  /**
   * A request left for the wire (after the download cap and pacing let it go): lateness is
   * judged from here, not from when it was scheduled, so a capped node does not mistake its
   * own queue for a slow peer.
   */
  sent(id: string, index: number, now: number): void {
    const p = this.s.peers.get(id);
    if (p?.inFlight.has(index)) p.inFlight.set(index, now);
  }

  /** Bytes arrived from `peer` at `at` (not necessarily a whole block): it is sending, not stalled. */
  heard(id: string, at: number): void {
    const p = this.s.peers.get(id);
    if (p) p.lastHeardAt = Math.max(p.lastHeardAt, at);
  }

  /**
   * Our own loop was stalled for `ms` beyond its tick: that time is not the peers' silence
   * (what they sent meanwhile is still unread), so lateness and stalls do not count it.
   */
  paused(ms: number, now: number): void {
    for (const p of this.s.peers.values()) p.lastHeardAt = Math.min(now, p.lastHeardAt + ms);
  }

  /** A block arrived from `peer`; `valid` is false when it did not match its hash. */
  onBlock(id: string, index: number, valid: boolean, now: number): SwarmAction[] {
    const actions: SwarmAction[] = [];
    const p = this.s.peers.get(id);
    const sentAt = p ? this.s.forget(p, index) : undefined;
    if (!valid) {
      if (p) this.penalise(p, index, actions);
      return actions;
    }
    if (p && sentAt !== undefined) p.delivered(this.s.lengths[index]!, sentAt, now);
    this.markHeld(index);
    for (const other of [...(this.s.asked.get(index) ?? [])]) {
      const q = this.s.peers.get(other);
      if (q) this.s.forget(q, index);
      actions.push({ type: 'cancel', peer: other, index });
    }
    this.s.asked.delete(index);
    return actions;
  }

  /** A block this node got some other way (a concurrent on-demand read, a local publish). */
  markHeld(index: number): void {
    this.s.markHeld(index);
  }

  /**
   * A request failed without data: refused (`refused`: it lacks the block or may not send
   * it), its own store failed (`unservable`), or the connection broke or went silent (`error`).
   */
  onFailure(id: string, index: number, kind: FailureKind, now: number): SwarmAction[] {
    const p = this.s.peers.get(id);
    if (!p) {
      this.s.asked.get(index)?.delete(id);
      return [];
    }
    this.s.forget(p, index);
    if (kind === 'busy') {
      // Not a fault: its queue is full because others ask it too. Ask others meanwhile, and it
      // again once it has sent about one block per request it is already serving.
      p.chokedUntil = Math.max(p.chokedUntil, now + Math.max(BUSY_MIN_MS, (this.s.blockLength / p.rate()) * 1000));
      return [];
    }
    if (kind === 'declined') {
      // Not a fault: the origin sends this block's first copy to a faster downloader; take it from a peer (first-copy.ts).
      this.s.decline(p, index, now);
      return [];
    }
    if (kind === 'lost') {
      // Not a fault: the relay's own copy failed. It will say `have` again once it holds the block.
      this.s.peerLost(id, index);
      return [];
    }
    if (kind === 'error') {
      choke(p, now);
      return [];
    }
    p.refused.add(index);
    this.s.releaseSeeded(index);
    if (kind === 'refused' || ++p.unservable < UNSERVABLE_TO_DROP) return [];
    const actions: SwarmAction[] = [];
    this.s.cancelAll(p, actions);
    this.s.removePeer(id);
    actions.push({ type: 'ban', peer: id, reason: `its store failed ${p.unservable} requests` });
    return actions;
  }

  /** Times out stalled peers, then schedules. Called by `handle` after every input. */
  schedule(now: number): SwarmAction[] {
    const actions: SwarmAction[] = [];
    expireStalls(this.s, now, actions);
    this.s.retryDeclined(now, this.seedGraceMs);
    if (this.s.urgentDeadlines.size > 0) this.scheduleUrgent(now, actions);
    if (!this.bulkPaused) this.scheduleBulk(now, actions);
    if (!this.completed && this.s.done) {
      this.completed = true;
      actions.push({ type: 'complete' });
    }
    return actions;
  }

  private penalise(p: PeerState, index: number, actions: SwarmAction[]): void {
    p.refused.add(index);
    p.badBlocks++;
    if (p.badBlocks >= BAD_BLOCKS_TO_BAN) {
      this.s.cancelAll(p, actions);
      this.s.removePeer(p.id);
      actions.push({ type: 'ban', peer: p.id, reason: `${p.badBlocks} blocks did not match their hash` });
    }
  }

  private scheduleUrgent(now: number, actions: SwarmAction[]): void {
    const order = [...this.s.urgentDeadlines].sort((a, b) => a[1] - b[1]);
    let bytes = 0;
    for (const [index] of order) bytes += (this.s.asked.get(index)?.size ?? 0) * this.s.lengths[index]!;
    for (const [index, deadline] of order) {
      const asked = this.s.asked.get(index);
      const copies = asked?.size ?? 0;
      if (copies >= MAX_COPIES) continue;
      const length = this.s.lengths[index]!;
      if (bytes > 0 && bytes + length > MAX_URGENT_BYTES) break;
      if (copies > 0) {
        const eta = Math.min(...[...asked!].map((id) => this.s.peers.get(id)!.expectedMs(length)));
        if (now + eta <= deadline) continue;
      }
      // Urgent requests may exceed the per-peer pipeline by one: a waiting client beats prefetch.
      const peer = this.bestPeer((p) => p.canServe(index, true) && !asked?.has(p.id) && p.inFlight.size <= this.perPeer, length, now);
      if (!peer) continue;
      this.s.request(peer, index, now, actions);
      bytes += length;
    }
  }

  private scheduleBulk(now: number, actions: SwarmAction[]): void {
    let budget = this.total - this.s.inFlight + this.inTransitAllowance(now);
    if (this.s.wantedMissing.size === 0 || budget <= 0) return;
    const length = this.s.blockLength;
    // Other downloaders share the swarm when the designation names them, even before any of them is open as a holder.
    let swarm = this.s.rendezvous.shared;
    let seeds = 0;
    for (const p of this.s.peers.values()) {
      if (p.isChoked(now)) continue;
      if (p.isSeed) seeds++;
      else swarm = true;
    }
    const open: { p: PeerState; eta: number }[] = [];
    for (const p of this.s.peers.values()) {
      // Only peers with room in their pipeline are ranked (the costly part of a pass).
      if (!p.isChoked(now) && p.inFlight.size < peerPipeline(p, swarm, this.perPeer)) open.push({ p, eta: p.expectedMs(length) });
    }
    open.sort((a, b) => a.eta - b.eta);
    for (const { p } of open) {
      // A shallow queue at a seed keeps its choices fresh: what it sends is decided close to when it sends.
      const limit = peerPipeline(p, swarm, this.perPeer);
      while (budget > 0 && p.inFlight.size < limit) {
        const index = (p.isSeed && swarm ? this.seedChoice.pick(this.s, p, now, seeds, this.random) : pickRarest(this.s, p, () => true, 'random', this.random)) ?? pickEndgame(this.s, p, now);
        if (index === undefined) break;
        this.s.request(p, index, now, actions);
        budget--;
      }
    }
  }

  /**
   * One request more than the in-flight budget while a request sent less than its peer's
   * round trip ago is outstanding: no byte of it can be arriving yet, so a request that
   * replaced one that ended leaves part of the download link idle for a round trip. One,
   * not all such requests: with all, passes within one round trip each asked more (1,000
   * world nodes: origin egress 1.03 -> 1.11). `canopy sim swarm`: with 20 MiB in flight
   * (pipeline.ts), 1,000 world nodes 1.437 -> 1.371 (24 MiB and no allowance: 1.348, seeds 2
   * and 3 1.375, 1.382); in one data centre the round trip is a millisecond and little changes.
   */
  private inTransitAllowance(now: number): number {
    for (const p of this.s.peers.values()) for (const sentAt of p.inFlight.values()) if (now - sentAt < p.rttMs) return 1;
    return 0;
  }

  private bestPeer(accept: (p: PeerState) => boolean, length: number, now: number): PeerState | undefined {
    let best: PeerState | undefined;
    for (const p of this.s.peers.values()) {
      if (p.isChoked(now) || !accept(p)) continue;
      if (!best || p.expectedMs(length) < best.expectedMs(length)) best = p;
    }
    return best;
  }
}
