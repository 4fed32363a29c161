/**
 * Bandwidth windows for background prefetch: a content's policy may allow prefetch only
 * between two local times (`22:00-06:00` wraps past midnight) and at most at a rate. Pure:
 * the caller passes the clock. Client reads that need a block now (on-demand, edge issue)
 * do not go through this gate: they are never held back.
 */
import { CanopyError } from '../core/errors.js';

export interface PrefetchWindow {
  /** Minutes after local midnight when prefetch may start. */
  readonly from: number;
  /** Minutes after local midnight when it must stop (may be < from: wraps midnight). */
  readonly to: number;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function parseWindow(text: string): PrefetchWindow {
  const [a, b, ...rest] = text.split('-');
  const ma = HHMM.exec(a?.trim() ?? '');
  const mb = HHMM.exec(b?.trim() ?? '');
  if (!ma || !mb || rest.length > 0) throw new CanopyError('ERR_USAGE', `window "${text}" must be HH:MM-HH:MM in local time (e.g. 22:00-06:00)`);
  const from = Number(ma[1]) * 60 + Number(ma[2]);
  const to = Number(mb[1]) * 60 + Number(mb[2]);
  if (from === to) throw new CanopyError('ERR_USAGE', `window "${text}" is empty (start equals end)`);
  return { from, to };
}

export function formatWindow(w: PrefetchWindow): string {
  const f = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${f(w.from)}-${f(w.to)}`;
}

function minuteOfDay(at: Date): number {
  return at.getHours() * 60 + at.getMinutes();
}

export function inWindow(w: PrefetchWindow, at: Date): boolean {
  const m = minuteOfDay(at);
  return w.from < w.to ? m >= w.from && m < w.to : m >= w.from || m < w.to;
}

/** Milliseconds from `at` until the window next opens (0 if it is open). */
export function msUntilOpen(w: PrefetchWindow, at: Date): number {
  if (inWindow(w, at)) return 0;
  const next = new Date(at);
  next.setHours(Math.floor(w.from / 60), w.from % 60, 0, 0);
  if (next.getTime() <= at.getTime()) next.setDate(next.getDate() + 1);
  return next.getTime() - at.getTime();
}

/**
 * Paces bytes to a rate: `reserve(n)` says how long to wait before sending n bytes so that
 * the long-run rate stays at `bytesPerSecond`, allowing a burst of one second.
 */
export class RatePacer {
  private nextFree = 0;

  constructor(private readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new CanopyError('ERR_USAGE', `rate ${bytesPerSecond} must be positive`);
  }

  reserve(bytes: number, now: number): number {
    const start = Math.max(this.nextFree, now - 1000);
    this.nextFree = start + (bytes * 1000) / this.bytesPerSecond;
    return Math.max(0, start - now);
  }
}
