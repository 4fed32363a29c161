/**
 * The simulated network under `canopy sim swarm`: every host has an upload and a download
 * rate; a block transfer runs at the host's share of both. A downloader splits its download
 * rate evenly over the blocks arriving at once; an uploader fills its upload rate over the
 * blocks it sends, giving each at most what its downloader can take and the rest to the
 * others (water-filling, as TCP flows sharing one bottleneck roughly do). An uploader sends
 * at most `UPLOAD_SLOTS` blocks at once, the others wait in order (the peer service's `UploadLimiter` limits, the same constants); more are answered busy.
 * Rates change only when a transfer starts or ends, so each change re-rates the transfers
 * at the two hosts involved and nothing else.
 */
import { MAX_WAITING, UPLOAD_SLOTS } from '../swarm/upload-limiter.js';
import type { EventQueue } from './event-queue.js';

export interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly index: number;
  readonly bytes: number;
  remaining: number;
  rate: number;
  since: number;
  /** Bumped on every re-rate: a finish event scheduled for an older version is stale. */
  version: number;
  started: boolean;
  /** The downloader cancelled it before it started: dropped from the queue. */
  dropped: boolean;
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
  constructor(
    readonly hosts: Host[],
    private readonly q: EventQueue,
    /** Called when the last byte of a transfer has left its uploader. */
    private readonly onSent: (t: Transfer) => void,
    /** Called when a queued transfer starts sending. */
    private readonly onStart: (t: Transfer) => void,
    private readonly slots = UPLOAD_SLOTS,
    /** Requests waiting beyond the slots before the uploader answers busy (Infinity: never). */
    private readonly maxWaiting = MAX_WAITING,
  ) {}

  /** A request reached the uploader: it starts at once if a slot is free, else waits; undefined: busy. */
  enqueue(from: number, to: number, index: number, bytes: number): Transfer | undefined {
    const h = this.hosts[from]!;
    if (h.sending.size >= this.slots && h.queue.length >= this.maxWaiting) return undefined;
    const t: Transfer = { from, to, index, bytes, remaining: bytes, rate: 0, since: this.q.now, version: 0, started: false, dropped: false };
    h.queue.push(t);
    this.startNext(from);
    return t;
  }

  /** Drops a request still waiting at its uploader; one already sending runs to the end. */
  drop(t: Transfer): boolean {
    if (t.started || t.dropped) return false;
    t.dropped = true;
    const queue = this.hosts[t.from]!.queue;
    queue.splice(queue.indexOf(t), 1);
    return true;
  }

  private startNext(from: number): void {
    const h = this.hosts[from]!;
    while (h.sending.size < this.slots && h.queue.length > 0) {
      const t = h.queue.shift()!;
      t.started = true;
      t.since = this.q.now;
      h.sending.add(t);
      this.hosts[t.to]!.receiving.add(t);
      this.onStart(t);
      this.reRateAround(t);
    }
  }

  private finish(t: Transfer, version: number): void {
    const h = this.hosts[t.from]!;
    if (version !== t.version || !h.sending.has(t)) return;
    t.remaining = 0;
    h.sending.delete(t);
    h.uploaded += t.bytes;
    this.hosts[t.to]!.receiving.delete(t);
    this.reRateAround(t);
    this.onSent(t);
    this.startNext(t.from);
  }

  /** The transfer's uploader, and every uploader sending to its downloader (their share there changed). */
  private reRateAround(t: Transfer): void {
    const uploaders = new Set<number>([t.from]);
    for (const r of this.hosts[t.to]!.receiving) uploaders.add(r.from);
    for (const u of uploaders) this.fill(u);
  }

  /** Water-fills the uploader's rate over its transfers, each capped at its downloader's even share. */
  private fill(u: number): void {
    const h = this.hosts[u]!;
    const now = this.q.now;
    const list = [...h.sending].map((t) => ({ t, cap: this.hosts[t.to]!.down / this.hosts[t.to]!.receiving.size })).sort((a, b) => a.cap - b.cap);
    let left = h.up;
    list.forEach(({ t, cap }, i) => {
      const rate = Math.min(cap, left / (list.length - i));
      left -= rate;
      t.remaining -= (t.rate * (now - t.since)) / 1000;
      t.since = now;
      if (rate === t.rate && t.version > 0) return;
      t.rate = rate;
      const v = ++t.version;
      this.q.at(now + (Math.max(0, t.remaining) / rate) * 1000, (x: Transfer, ver: number) => this.finish(x, ver), t, v);
    });
  }
}
