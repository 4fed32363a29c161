/**
 * Which of several roots on one PostgreSQL leads, at run time: a standby takes part in
 * lease rounds until the lease is free or expired and takes it (with the next fencing
 * number); the leader renews it every round. A leader that cannot renew in time (database
 * unreachable, or another root took the lease after a pause) is deposed: it must stop at
 * once, before its lease can have run out (leader-lease.ts `actUntil`), and every write it
 * still has queued is refused by the database because its fence moved on.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { CanopyError } from '../../core/errors.js';
import { actUntil, type Lease } from './leader-lease.js';
import { releaseLease, stepLease, type SeenRoot } from './pg-lease.js';
import { CLOSE_WAIT_MS, within } from './postgres-state.js';
import { LeaseDeadline } from './lease-deadline.js';
import { LateTimer } from './late-timer.js';

/** How long a lease lasts without renewal: a standby takes over this long after a leader dies. */
export const LEASE_TTL_MS = 3_000;
/** How often the leader renews and a standby looks. */
export const LEASE_ROUND_MS = 500;
/** The leader stops acting this long before its lease could have run out (clock rate, messages in flight). */
export const LEASE_MARGIN_MS = 1_000;
/** A renewal round this late, or this slow, is logged: the deadline is LEASE_TTL_MS - LEASE_MARGIN_MS after a renewal's start. */
export const SLOW_MS = 250;

/** What a root says about itself in the lease row; followers and the CLI are told these. */
export interface RootAddresses {
  /** Peer address, host:port. */
  peer?: string;
  /** Admin API base URL. */
  api?: string;
}

export interface LeaderView {
  role: 'leader' | 'standby';
  /** This root's holder id in the lease. */
  self: string;
  fence: number;
  leader: (RootAddresses & { holder: string }) | null;
  /** Every root seen in a lease round in the last minute (this one too), with its role and how long ago. */
  roots?: (RootAddresses & { holder: string; role: 'leader' | 'standby'; seenSecondsAgo: number })[];
}

/** The addresses field of the lease row (written by another root): anything but strings is dropped. */
export function parseAddressField(text: string): RootAddresses {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return {};
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const out: RootAddresses = {};
  if (typeof o.peer === 'string') out.peer = o.peer;
  if (typeof o.api === 'string') out.api = o.api;
  return out;
}

/** The error a standby (or a deposed leader) answers a write with, naming the leader. */
export function notLeader(leader: LeaderView['leader'], what = 'this root is a standby'): CanopyError {
  const where = leader ? ` the leader is ${leader.api ?? leader.peer ?? leader.holder}` : ' no root leads right now; retry in a few seconds';
  return new CanopyError('ERR_NOT_LEADER', `${what}:${where}`, { details: { leader } });
}

export class Leadership {
  readonly id = `${randomBytes(6).toString('hex')}`;
  private role: 'leader' | 'standby' = 'standby';
  private fence = 0;
  private leader: Lease | undefined;
  private seen: SeenRoot[] = [];
  private until = 0;
  private timer: LateTimer | undefined;
  private deadline: LeaseDeadline | undefined;
  private stopped = false;
  private lostOnce = false;
  /** The renewal round in flight, if any. */
  private renewal: Promise<void> | undefined;

  /** This root's addresses as the lease row shows them (set again once the node listens). */
  addresses: () => RootAddresses = () => ({});

  /** Told when a renewal ran late (its timer fired late: the event loop was busy) or took long (the database answered slowly), with the ms. */
  onSlow: (what: 'timer late' | 'renewal slow', ms: number, leftMs: number) => void = () => undefined;

  /** `db`: a pool of its own (PostgresRootState.leaseDb), so a renewal never waits for a connection behind the root's writes. */
  constructor(
    private readonly db: pg.Pool,
    private readonly onLost: (err: CanopyError) => void,
    private readonly onRoundError: (err: Error) => void = () => undefined,
  ) {}

  private me() {
    return { id: this.id, address: JSON.stringify(this.addresses()) };
  }

  /** One round as a candidate: whether this root now holds the lease (a database error is thrown). */
  async tryOnce(): Promise<boolean> {
    const asked = performance.now();
    const d = await stepLease(this.db, this.me(), LEASE_TTL_MS);
    this.seen = d.roots;
    if (d.action === 'follow') {
      this.leader = d.leader;
      return false;
    }
    this.role = 'leader';
    this.fence = d.lease.fence;
    this.leader = d.lease;
    this.until = actUntil(asked, LEASE_TTL_MS, LEASE_MARGIN_MS);
    return true;
  }

  /** Takes part in lease rounds until this root holds the lease; returns its fence. */
  async acquire(): Promise<number> {
    while (!this.stopped) {
      try {
        if (await this.tryOnce()) return this.fence;
      } catch (err) {
        this.onRoundError(err as Error);
      }
      await sleep(LEASE_ROUND_MS);
    }
    throw new CanopyError('ERR_NOT_LEADER', 'stopped before this root could lead');
  }

  /**
   * Renews the lease every round; calls onLost once if a renewal fails, comes too late, or
   * finds another holder. The deadline is watched by a timer of its own: a renewal that
   * hangs (the database cut off: no answer, no error, until the connection times out) must
   * not keep this root acting as leader past `until`. One renewal at a time.
   */
  keep(): void {
    this.timer = new LateTimer(LEASE_ROUND_MS, (late) => {
      const now = performance.now();
      if (late > SLOW_MS) this.onSlow('timer late', Math.round(late), Math.round(this.until - now));
      if (now > this.until) return this.lose('the lease could not be renewed in time');
      void this.renew();
    });
    this.timer.start();
    this.deadline = new LeaseDeadline(() => this.until, () => this.lose('the lease could not be renewed in time'));
    this.deadline.start();
  }

  /** One renewal at a time: a round asked for while one runs is that round. */
  private renew(): Promise<void> {
    if (this.stopped || this.role !== 'leader') return Promise.resolve();
    this.renewal ??= this.renewRound().finally(() => (this.renewal = undefined));
    return this.renewal;
  }

  private async renewRound(): Promise<void> {
    const asked = performance.now();
    try {
      const d = await stepLease(this.db, this.me(), LEASE_TTL_MS);
      const took = performance.now() - asked;
      if (took > SLOW_MS) this.onSlow('renewal slow', Math.round(took), Math.round(this.until - performance.now()));
      this.seen = d.roots;
      if (d.action === 'follow' || d.lease.fence !== this.fence) return this.lose(`another root took the lease (fence ${d.action === 'follow' ? d.leader.fence : d.lease.fence})`);
      // A renewal answered after the deadline does not bring a deposed root back.
      if (this.lostOnce) return;
      this.leader = d.lease;
      this.until = actUntil(asked, LEASE_TTL_MS, LEASE_MARGIN_MS);
    } catch (err) {
      this.onRoundError(err as Error);
    }
  }

  /**
   * Writes this root's addresses to the lease row now rather than at the next round: called
   * once the node listens, before it reports ready, so that a standby never names the
   * configured address (port 0 for "any free port") in place of the one the leader listens on.
   */
  async publishAddresses(): Promise<void> {
    if (this.renewal) await this.renewal; // A round in flight may carry the addresses from before.
    await this.renew();
  }

  private lose(why: string): void {
    if (this.lostOnce) return;
    this.lostOnce = true;
    this.role = 'standby';
    this.timer?.stop();
    this.deadline?.stop();
    this.onLost(new CanopyError('ERR_NOT_LEADER', `this root lost its leader lease (fence ${this.fence}): ${why}; it stops so that it cannot act as leader`));
  }

  get currentFence(): number {
    return this.fence;
  }

  /** Whether this root may act as leader now (holds the lease, within its safety margin). */
  leads(): boolean {
    return this.role === 'leader' && performance.now() <= this.until;
  }

  view(): LeaderView {
    const l = this.leader;
    const leader = l && l.holder !== '' ? { holder: l.holder, ...parseAddressField(l.address) } : null;
    const roots = this.seen.map((r) => ({ holder: r.holder, ...parseAddressField(r.address), role: r.holder === leader?.holder ? ('leader' as const) : ('standby' as const), seenSecondsAgo: r.seenSecondsAgo }));
    return { role: this.role, self: this.id, fence: this.role === 'leader' ? this.fence : l?.fence ?? 0, leader, roots };
  }

  /** Stops taking part; a leader gives its lease up so a standby need not wait for the expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.stop();
    this.deadline?.stop();
    if (this.role === 'leader') await within(releaseLease(this.db, this.id, this.fence), CLOSE_WAIT_MS);
    this.role = 'standby';
  }
}
