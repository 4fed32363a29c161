/**
 * A simulated swarm: every downloader runs the real `SwarmScheduler` (the same pure core a
 * node's session drives), fed with the inputs a session would feed it, over the simulated
 * links of `swarm-links.ts`. Requests, cancels, `have` and `seeded` notices arrive after the
 * one-way latency between the two places; blocks arrive when their last byte has left the
 * uploader plus that latency. Nothing here decides what to fetch from whom: the scheduler
 * does; the simulator only carries out its actions and counts what they cost.
 */
import { Bitfield } from '../swarm/bitfield.js';
import { FirstCopyRule } from '../swarm/first-copy.js';
import type { PeerLoad } from '../swarm/peer-state.js';
import { pipelineLimits } from '../swarm/pipeline.js';
import { SwarmScheduler, type SwarmAction, type SwarmInput } from '../swarm/scheduler.js';
import { EventQueue } from './event-queue.js';
import { latency, type Place } from './geography.js';
import { Links, type Host, type Transfer } from './swarm-links.js';
import { pieceBytes } from '../swarm/relay-feed.js';

/** The session's periodic pass (`swarm-session.ts` TICK_MS). */
export const TICK_MS = 250;
const LOAD_REFRESH_MS = 2_000;
/** The node's defaults: `downloadConcurrency` 16, a quarter of it per peer. */
const MAX_IN_FLIGHT = 16;
const MAX_IN_FLIGHT_PER_PEER = 4;

export interface SimHostSpec {
  up: number;
  down: number;
  place: Place;
  /** Downloaders this host opens interest with (host 0, the origin, is complete and downloads nothing). */
  neighbours: number[];
}

export interface SimSwarmNode {
  readonly id: number;
  readonly name: string;
  readonly sched: SwarmScheduler | undefined;
  readonly neighbours: number[];
  /** Requests sent and not yet answered or dropped, by `peer/index`. */
  readonly pending: Map<string, Transfer>;
  doneAt: number | undefined;
  received: number;
  kept: number;
  /** Control messages this node sent (requests, cancels, have, seeded, load). */
  messages: number;
  /** Blocks arriving here that it relays (cut-through), by index: the transfer that feeds each. */
  readonly feeds: Map<number, Transfer>;
  /** Blocks whose arrival it announced (`have` with `relay`): the `have` once held is not repeated. */
  readonly announced: Set<number>;
}

export class SwarmSim {
  readonly q = new EventQueue();
  readonly nodes: SimSwarmNode[];
  readonly links: Links;
  private readonly lengths: number[];
  private readonly places: Place[];
  private readonly seededOnce = new Set<number>();
  /** The origin's rule for first copies (the node's peer service applies it at a content's origin). */
  private readonly firstCopies: FirstCopyRule | undefined;
  private left: number;

  constructor(
    specs: SimHostSpec[],
    readonly size: number,
    readonly blockSize: number,
    originMembers: readonly number[],
    random: () => number,
    uploadSlots?: number,
    maxWaiting?: number,
    /** A longer period than the node's makes a huge run cheaper; time-based choices come later by up to that much. */
    private readonly tickMs = TICK_MS,
    /** Cut-through relay of blocks still arriving (the node's behaviour); false: only whole blocks are forwarded. */
    private readonly relay = true,
    /** Upload slots weighed by drain pace (the node's `UploadLimiter`); false: a fixed count. */
    shareSlots = true,
    /** The origin declines first copies to slow drains (first-copy.ts), as the node does. */
    firstCopyRule = true,
  ) {
    this.firstCopies = firstCopyRule ? new FirstCopyRule() : undefined;
    const n = Math.ceil(size / blockSize);
    this.lengths = Array.from({ length: n }, (_, i) => Math.min(blockSize, size - i * blockSize));
    this.places = specs.map((s) => s.place);
    const hosts: Host[] = specs.map((s) => ({ up: s.up, down: s.down, sending: new Set(), receiving: new Set(), queue: [], uploaded: 0 }));
    this.links = new Links(hosts, this.q, (t) => this.sentLastByte(t), (t) => this.started(t), uploadSlots, maxWaiting, shareSlots);
    const limits = pipelineLimits(blockSize, MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_PEER);
    this.nodes = specs.map((s, id) => ({
      id,
      name: nameOf(id),
      sched: id === 0 ? undefined : new SwarmScheduler({ lengths: this.lengths, have: new Bitfield(n), wanted: () => true, random, ...limits }),
      neighbours: s.neighbours,
      pending: new Map(),
      doneAt: undefined,
      received: 0,
      kept: 0,
      messages: 0,
      feeds: new Map(),
      announced: new Set(),
    }));
    this.left = specs.length - 1;
    const members = originMembers.map(nameOf);
    for (const node of this.nodes) {
      if (!node.sched) continue;
      if (originMembers.includes(node.id)) this.input(node, { type: 'swarm', selfId: node.name, members });
      for (const peer of node.neighbours) {
        const have = peer === 0 ? Bitfield.full(n) : new Bitfield(n);
        this.input(node, { type: 'peer-joined', peer: nameOf(peer), have, load: this.loadOf(peer), rttMs: 2 * this.lat(node.id, peer), isSeed: peer === 0 });
      }
    }
  }

  get blocks(): number {
    return this.lengths.length;
  }

  /** Runs until every downloader is complete or `untilMs` of simulated time has passed. */
  run(untilMs: number): void {
    this.q.at(this.tickMs, () => this.tick());
    this.q.run(untilMs, () => this.left === 0);
  }

  private lat(a: number, b: number): number {
    return latency(this.places[a]!, this.places[b]!);
  }

  private loadOf(id: number): PeerLoad {
    const h = this.links.hosts[id]!;
    let rate = 0;
    for (const t of h.sending) rate += t.rate;
    return { uploads: h.sending.size, queuedBytes: h.queue.reduce((sum, t) => sum + t.remaining, 0), rate, cap: 0 };
  }

  private input(node: SimSwarmNode, input: SwarmInput): void {
    if (node.sched && node.doneAt === undefined) this.carryOut(node, node.sched.handle(input, this.q.now));
  }

  private carryOut(node: SimSwarmNode, actions: SwarmAction[]): void {
    for (const a of actions) {
      if (a.type === 'complete') {
        node.doneAt = this.q.now;
        this.left--;
        continue;
      }
      if (a.type === 'ban') continue;
      const peer = idOf(a.peer);
      node.messages++;
      if (a.type === 'request') {
        node.sched!.sent(a.peer, a.index, this.q.now);
        this.q.after(this.lat(node.id, peer), () => this.requested(node, peer, a.index));
      } else {
        this.q.after(this.lat(node.id, peer), () => {
          const key = `${a.peer}/${a.index}`;
          const t = node.pending.get(key);
          if (t && this.links.drop(t)) {
            node.pending.delete(key);
            if (peer === 0) this.firstCopies?.done(node.name, String(a.index));
          }
        });
      }
    }
  }

  private requested(node: SimSwarmNode, peer: number, index: number): void {
    const holder = this.nodes[peer]!;
    // A block the peer does not hold yet is relayed from the copy arriving there.
    const source = holder.sched && !holder.sched.have.has(index) ? holder.feeds.get(index) : undefined;
    if (holder.sched && !holder.sched.have.has(index) && !source) {
      this.q.after(this.lat(node.id, peer), () => this.input(node, { type: 'failure', peer: nameOf(peer), index, kind: 'lost' }));
      return;
    }
    if (peer === 0 && this.declines(node, index)) {
      this.q.after(this.lat(node.id, peer), () => this.input(node, { type: 'failure', peer: nameOf(peer), index, kind: 'declined' }));
      return;
    }
    const t = this.links.enqueue(peer, node.id, index, this.lengths[index]!, source);
    // A first copy on its way to a fast drain: others asking meanwhile are declined it (first-copy.ts).
    if (t && peer === 0 && !this.seededOnce.has(index)) this.firstCopies?.sending(node.name, String(index), this.links.drainShare(0, node.id));
    if (t) node.pending.set(`${nameOf(peer)}/${index}`, t);
    else this.q.after(this.lat(node.id, peer), () => this.input(node, { type: 'failure', peer: nameOf(peer), index, kind: 'busy' }));
  }

  /** The origin's first-copy rule (first-copy.ts): a slow drain (then said to all) or a first copy on its way elsewhere. */
  private declines(node: SimSwarmNode, index: number): boolean {
    const rule = this.firstCopies;
    if (!rule) return false;
    const verdict = rule.verdict(node.name, String(index), !this.seededOnce.has(index), this.links.drainShare(0, node.id), this.q.now);
    if (verdict === 'slow') this.tellSeeded(index, node.name);
    return verdict !== false;
  }

  /** Its first piece has arrived: the downloader relays the block from now on and says so (`have` with `relay`). */
  private relayFrom(t: Transfer): void {
    const node = this.nodes[t.to]!;
    if (node.sched!.have.has(t.index) || node.feeds.has(t.index)) return;
    node.feeds.set(t.index, t);
    node.announced.add(t.index);
    this.tellHave(node, t.index);
  }

  private tellHave(node: SimSwarmNode, index: number): void {
    // `have` to every neighbour that downloads (the origin does not).
    for (const n of node.neighbours) {
      if (n === 0) continue;
      node.messages++;
      this.q.after(this.lat(node.id, n), () => this.input(this.nodes[n]!, { type: 'peer-has', peer: node.name, index }));
    }
  }

  /** The origin tells the downloaders it serves that it has started sending a block for the first time. */
  private started(t: Transfer): void {
    if (this.relay) {
      const share = this.links.hosts[t.to]!.down / Math.max(1, this.links.hosts[t.to]!.receiving.size);
      this.q.after(this.lat(t.from, t.to) + (Math.min(pieceBytes(t.bytes), t.bytes) / share) * 1000, () => this.relayFrom(t));
    }
    if (t.from !== 0 || this.seededOnce.has(t.index)) return;
    this.seededOnce.add(t.index);
    this.tellSeeded(t.index);
  }

  /** The origin's `seeded` notice to the downloaders it serves: it sent a block's first copy, or declined it to one (first-copy.ts). */
  private tellSeeded(index: number, declined?: string): void {
    const origin = this.nodes[0]!;
    for (const peer of origin.neighbours) {
      origin.messages++;
      this.q.after(this.lat(0, peer), () => this.input(this.nodes[peer]!, declined === undefined ? { type: 'seeded', index } : { type: 'seeded', index, declined }));
    }
  }

  private sentLastByte(t: Transfer): void {
    this.q.after(this.lat(t.from, t.to), () => this.arrived(t));
  }

  private arrived(t: Transfer): void {
    const node = this.nodes[t.to]!;
    const peer = nameOf(t.from);
    node.pending.delete(`${peer}/${t.index}`);
    if (t.from === 0) this.firstCopies?.done(node.name, String(t.index));
    node.received += t.bytes;
    const fresh = !node.sched!.have.has(t.index);
    if (fresh) node.kept += t.bytes;
    if (node.doneAt === undefined) this.carryOut(node, node.sched!.handle({ type: 'block', peer, index: t.index, valid: true }, this.q.now));
    // Verified here: relays of it (from this copy or the one that fed them) may end.
    this.links.arrived(t);
    const feed = node.feeds.get(t.index);
    if (feed) {
      node.feeds.delete(t.index);
      if (feed !== t) this.links.arrived(feed);
    }
    // The neighbours told it was arriving are not told again (have-broadcaster.ts).
    if (fresh && !node.announced.delete(t.index)) this.tellHave(node, t.index);
  }

  /** The sessions' periodic pass: bytes heard from peers still sending, load reports every 2 s. */
  private tick(): void {
    const now = this.q.now;
    const refresh = now % LOAD_REFRESH_MS < this.tickMs;
    for (const node of this.nodes) {
      if (!node.sched || node.doneAt !== undefined) continue;
      for (const t of this.links.hosts[node.id]!.receiving) node.sched.heard(nameOf(t.from), now);
      if (refresh) {
        for (const peer of node.neighbours) {
          node.messages++;
          this.nodes[peer]!.messages++;
          node.sched.updatePeer(nameOf(peer), this.loadOf(peer), 2 * this.lat(node.id, peer));
        }
      }
      this.carryOut(node, node.sched.handle({ type: 'tick' }, now));
    }
    if (this.left > 0) this.q.after(this.tickMs, () => this.tick());
  }
}

export function nameOf(id: number): string {
  return id === 0 ? 'origin' : `n${id}`;
}

function idOf(name: string): number {
  return name === 'origin' ? 0 : Number(name.slice(1));
}
