/**
 * The simulated network under `canopy sim swarm`: every host has an upload and a download
 * rate; a block transfer runs at the host's share of both. A downloader splits its download
 * rate over the blocks arriving at once, max-min fair (one held below its share by its
 * uploader or its relay source keeps what it uses, the others split the rest evenly: as TCP
 * flows into one link roughly do; until session 7 the split was even, and a slow-paced
 * block's unused share was lost to the others); an uploader fills its upload rate over the
 * blocks it sends, giving each at most what its downloader can take and the rest to the
 * others (water-filling, as TCP flows sharing one bottleneck roughly do). An uploader sends
 * `UPLOAD_SLOTS` blocks at once, more while slow drains leave room (`SlotShares`, the node's
 * `UploadLimiter` policy and constants), the others wait in order; more are answered busy.
 * Rates change only when a transfer starts or ends, so each change re-rates the transfers
 * at the two hosts involved (and the relays that follow them) and nothing else.
 *
 * Cut-through relay (src/swarm/relay-feed.ts): a transfer may have a `source`, the same
 * block still arriving at its uploader. While the source is sending, the relay goes no
 * faster than it (it started later, so it stays behind it: it never sends bytes its
 * uploader has not got), and it cannot end before the source has arrived (the relaying node
 * holds back the last piece until it has verified the block).
 */
import { MAX_WAITING, UPLOAD_SLOTS } from '../swarm/upload-limiter.js';
import { SlotShares } from '../swarm/upload-slots.js';
import type { EventQueue } from './event-queue.js';

export interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly index: number;
  readonly bytes: number;
  remaining: number;
  rate: number;
  since: number;
  /** When it started sending (its uploader's slot was granted). */
  startedAt: number;
  /** Bumped on every re-rate: a finish event scheduled for an older version is stale. */
  version: number;
  started: boolean;
  /** The downloader cancelled it before it started: dropped from the queue. */
  dropped: boolean;
  /** Relayed: the same block still arriving at this transfer's uploader. */
  source?: Transfer;
  /** Relays that follow this transfer. */
  followers?: Set<Transfer>;
  /** Its share of its downloader's link when last rated. */
  downCap?: number;
  /** Arrived and verified at its downloader (a relay that follows it may end). */
  arrived?: boolean;
  /** All sent but the held-back piece: waits for its source to arrive. */
  holding?: boolean;
}

export interface Host {
  readonly up: number;
  readonly down: number;
  readonly sending: Set<Transfer>;
  readonly receiving: Set<Transfer>;
  readonly queue: Transfer[];
  /** Block bytes this host has sent. */
  uploaded: number;
}

export class Links {
  private readonly shares: SlotShares[];

  constructor(
    readonly hosts: Host[],
    private readonly q: EventQueue,
    /** Called when the last byte of a transfer has left its uploader. */
    private readonly onSent: (t: Transfer) => void,
    /** Called when a queued transfer starts sending. */
    private readonly onStart: (t: Transfer) => void,
    slots = UPLOAD_SLOTS,
    /** Requests waiting beyond the slots before the uploader answers busy (Infinity: never). */
    private readonly maxWaiting = MAX_WAITING,
    /** Slots weighed by drain pace (`SlotShares`); false: a fixed count, as before session 7. */
    shareSlots = true,
  ) {
    this.shares = hosts.map(() => new SlotShares(slots, shareSlots ? 2 * slots : slots));
  }

  /** A request reached the uploader: it starts at once if a slot is free, else waits; undefined: busy. */
  enqueue(from: number, to: number, index: number, bytes: number, source?: Transfer): Transfer | undefined {
    const h = this.hosts[from]!;
    this.shares[from]!.asked(String(to), this.q.now);
    if (h.queue.length >= this.shares[from]!.waitingLimit(this.maxWaiting, this.q.now) && !this.admits(from, to)) return undefined;
    const t: Transfer = { from, to, index, bytes, remaining: bytes, rate: 0, since: this.q.now, startedAt: this.q.now, version: 0, started: false, dropped: false };
    if (source && !source.arrived) {
      t.source = source;
      (source.followers ??= new Set()).add(t);
    }
    h.queue.push(t);
    this.startNext(from);
    return t;
  }

  /** Drops a request still waiting at its uploader; one already sending runs to the end. */
  drop(t: Transfer): boolean {
    if (t.started || t.dropped) return false;
    t.dropped = true;
    t.source?.followers?.delete(t);
    const queue = this.hosts[t.from]!.queue;
    queue.splice(queue.indexOf(t), 1);
    return true;
  }

  private startNext(from: number): void {
    const h = this.hosts[from]!;
    while (h.queue.length > 0 && this.admits(from, h.queue[0]!.to)) {
      const t = h.queue.shift()!;
      t.started = true;
      t.since = t.startedAt = this.q.now;
      h.sending.add(t);
      this.hosts[t.to]!.receiving.add(t);
      this.onStart(t);
      this.reRateAround(t);
    }
  }

  /** The downloader's drain pace at `from` over the typical one there (`SlotShares.typicalShare`). */
  drainShare(from: number, to: number): number {
    return this.shares[from]!.typicalShare(String(to), this.q.now);
  }

  private admits(from: number, to: number): boolean {
    const active: string[] = [];
    for (const t of this.hosts[from]!.sending) active.push(String(t.to));
    return this.shares[from]!.admits(active, String(to), this.q.now);
  }

  private finish(t: Transfer, version: number): void {
    const h = this.hosts[t.from]!;
    if (version !== t.version || !h.sending.has(t) || t.holding) return;
    t.remaining = 0;
    if (t.source && !t.source.arrived) {
      // A relay that caught up: its last piece waits for the source's verification; its slot stays taken.
      t.holding = true;
      t.rate = 0;
      this.fill(t.from);
      return;
    }
    this.end(t);
  }

  /** The transfer `t` arrived at its downloader and was verified: relays that follow it may end. */
  arrived(t: Transfer): void {
    t.arrived = true;
    for (const f of t.followers ?? []) {
      if (f.holding) this.end(f);
      else if (f.started) this.fill(f.from);
    }
    t.followers = undefined;
  }

  private end(t: Transfer): void {
    const h = this.hosts[t.from]!;
    h.sending.delete(t);
    h.uploaded += t.bytes;
    // A relay goes at its source's pace, not its downloader's: only sends of held blocks measure a downloader.
    if (!t.source) this.shares[t.from]!.ended(String(t.to), t.bytes, this.q.now - t.startedAt, this.q.now);
    this.hosts[t.to]!.receiving.delete(t);
    this.reRateAround(t);
    // Its relays are no longer held to its pace (they still wait for it to arrive).
    for (const f of t.followers ?? []) if (f.started) this.fill(f.from);
    this.onSent(t);
    this.startNext(t.from);
  }

  /** The transfer's uploader, and every uploader sending to its downloader (their share there changed). */
  private reRateAround(t: Transfer): void {
    const uploaders = new Set<number>([t.from]);
    for (const r of this.hosts[t.to]!.receiving) uploaders.add(r.from);
    for (const u of uploaders) this.fill(u);
  }

  /**
   * What `t` may take of its downloader's link: transfers held below their share there by
   * something else (their uploader, their source) keep what they use, and the rest is split
   * evenly among the others (max-min fairness, as TCP flows into one link roughly share it).
   */
  private downShare(t: Transfer): number {
    const d = this.hosts[t.to]!;
    const demands: number[] = [];
    for (const r of d.receiving) if (r !== t) demands.push(r.holding ? 0 : r.rate < (r.downCap ?? Infinity) - 1e-6 ? r.rate : Infinity);
    demands.sort((a, b) => a - b);
    let left = d.down;
    let count = demands.length + 1;
    for (const demand of demands) {
      if (demand >= left / count) break;
      left -= demand;
      count--;
    }
    return left / count;
  }

  /**
   * Water-fills the uploader's rate over its transfers, each capped at its downloader's even
   * share and, for a relay whose source is still sending, at the source's rate. A changed
   * rate re-rates the relays that follow (`depth` bounds the cascade).
   */
  private fill(u: number, depth = 0): void {
    const h = this.hosts[u]!;
    const now = this.q.now;
    const list = [...h.sending]
      .filter((t) => !t.holding)
      .map((t) => ({ t, cap: Math.min((t.downCap = this.downShare(t)), t.source && t.source.remaining > 0 && this.hosts[t.source.from]!.sending.has(t.source) ? t.source.rate : Infinity) }))
      .sort((a, b) => a.cap - b.cap);
    let left = h.up;
    const changed: Transfer[] = [];
    list.forEach(({ t, cap }, i) => {
      const rate = Math.min(cap, left / (list.length - i));
      left -= rate;
      t.remaining -= (t.rate * (now - t.since)) / 1000;
      t.since = now;
      if (rate === t.rate && t.version > 0) return;
      t.rate = rate;
      const v = ++t.version;
      if (rate > 0) this.q.at(now + (Math.max(0, t.remaining) / rate) * 1000, (x: Transfer, ver: number) => this.finish(x, ver), t, v);
      if (t.followers?.size) changed.push(t);
    });
    if (depth < 32) for (const t of changed) for (const f of t.followers!) if (f.started) this.fill(f.from, depth + 1);
  }
}
