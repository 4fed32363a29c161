/**
 * What a downloader knows about one holder of a content: which blocks it has, how near it
 * is (measured round trip), how loaded it says it is, how fast it has actually delivered,
 * what we have asked of it, and how it has misbehaved. `expectedMs` turns this into the one
 * number the scheduler ranks peers by: how long one more block from this peer would take.
 */
import type { Bitfield } from './bitfield.js';

/** A holder's own account of its upload load, sent with its bitfield and refreshed by pings. */
export interface PeerLoad {
  /** Uploads being served right now. */
  uploads: number;
  /** Bytes asked of it and not yet sent. */
  queuedBytes: number;
  /** Recent upload rate, bytes per second. */
  rate: number;
  /** Its upload cap in bytes per second; 0 when uncapped. */
  cap: number;
}

/** Rate assumed for a peer that has not delivered yet and reports no cap (bytes/s). */
export const DEFAULT_RATE = 12.5e6;
const EWMA = 0.3;
/** A request is overdue past this many times the time its peer's pace predicts for it... */
export const LATE_FACTOR = 2;
/** ...plus this slack, so timers firing late on a busy machine do not make requests look late. */
export const LATE_SLACK_MS = 1_000;
/** A peer we heard bytes from this recently is sending: its requests are not late, whatever the clock says. */
export const HEARD_GRACE_MS = 2_000;

export class PeerState {
  rttMs = 50;
  load: PeerLoad = { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 };
  /** Measured delivery rate in bytes/s; 0 until the first block arrives. */
  measuredRate = 0;
  /** Decayed sums of bytes delivered and their service time, of which `measuredRate` is the ratio. */
  private paceBytes = 0;
  private paceMs = 0;
  lastDeliveryAt = 0;
  /** When bytes last arrived from it (any frame, a block still arriving included). */
  lastHeardAt = -Infinity;
  /** Requests outstanding: block index → time sent. */
  readonly inFlight = new Map<number, number>();
  /** Blocks it claimed and then refused or sent corrupt: never asked of it again. */
  readonly refused = new Set<number>();
  /** Blocks this seed declined to send us first (first-copy.ts): taken from another holder, or asked again later. */
  readonly declined = new Set<number>();
  failures = 0;
  badBlocks = 0;
  /** Requests its own store failed to answer (a failed volume). */
  unservable = 0;
  chokedUntil = 0;

  constructor(
    readonly id: string,
    readonly have: Bitfield,
    /** A complete holder that publishes what it has seeded (the origin, or any seed). */
    public isSeed: boolean,
  ) {}

  /** Whether to ask it for `index`; a client waiting (`urgent`) asks again a seed that declined it (it then sends). */
  canServe(index: number, urgent = false): boolean {
    return this.have.has(index) && !this.refused.has(index) && (urgent || !this.declined.has(index));
  }

  /** Rate we expect from it: measured when we have a measure, else what its load report leaves free. */
  rate(): number {
    if (this.measuredRate > 0) return this.measuredRate;
    const free = this.load.cap > 0 ? Math.max(this.load.cap - this.load.rate, this.load.cap * 0.1) : DEFAULT_RATE;
    return free / (this.load.uploads + 1);
  }

  /** Milliseconds until one more block of `length` bytes would arrive if asked now. */
  expectedMs(length: number): number {
    const queued = (this.inFlight.size + 1) * length + this.load.queuedBytes / Math.max(1, this.load.uploads);
    return (this.rttMs + (queued / this.rate()) * 1000) * (1 + this.failures);
  }

  /**
   * Whether the request for `index` is overdue: it has waited more than LATE_FACTOR times
   * what its place in this peer's queue and the peer's measured rate predict, plus slack.
   */
  overdue(index: number, length: number, now: number): boolean {
    const sentAt = this.inFlight.get(index);
    if (sentAt === undefined) return true;
    if (now - this.lastHeardAt < HEARD_GRACE_MS) return false;
    let ahead = 0;
    for (const t of this.inFlight.values()) if (t < sentAt) ahead++;
    const predicted = this.rttMs + (((ahead + 1) * length) / this.rate()) * 1000;
    return now - Math.max(sentAt, this.lastDeliveryAt) > LATE_FACTOR * predicted + LATE_SLACK_MS;
  }

  /**
   * Folds one delivery into the measured rate; service time excludes time queued behind our
   * own earlier requests. Bytes and service time are summed (with decay) and divided, not
   * per-delivery rates averaged: two blocks sent side by side arrive close together, and the
   * second's tiny service time would otherwise read as a rate hundreds of times the link's.
   */
  delivered(length: number, sentAt: number, now: number): void {
    const serviceMs = Math.max(1, now - Math.max(sentAt, this.lastDeliveryAt));
    this.paceBytes = this.paceBytes * (1 - EWMA) + length;
    this.paceMs = this.paceMs * (1 - EWMA) + serviceMs;
    this.measuredRate = (this.paceBytes / this.paceMs) * 1000;
    this.lastDeliveryAt = now;
    this.failures = 0;
  }

  isChoked(now: number): boolean {
    return now < this.chokedUntil;
  }
}
