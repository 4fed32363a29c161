/**
 * Failure detection for one tree neighbour, judged in missed intervals rather than wall time.
 * Two things make a live neighbour look dead on a busy machine, and both are discounted:
 * - our own event loop was blocked: the time between two of our ticks beyond the expected
 *   interval is time we were not listening, so it does not count against the neighbour
 *   (messages that arrived meanwhile are still queued behind the tick that notices);
 * - the neighbour's loop is slow: its heartbeats come late, so the silence that means dead
 *   is a number of its own recently observed intervals (a decaying maximum), never less
 *   than `deadAfterMs` and never more than `MAX_DEAD_FACTOR` times it.
 * Pure: time comes in every call.
 */
export const MAX_DEAD_FACTOR = 6;
const GAP_DECAY = 0.95;

export class Liveness {
  private lastHeard: number;
  /** A decaying maximum of the intervals between messages from this neighbour. */
  private gap = 0;

  constructor(
    now: number,
    private readonly intervalMs: number,
    private readonly deadAfterMs: number,
  ) {
    this.lastHeard = now;
  }

  heard(now: number): void {
    const gap = now - this.lastHeard;
    this.gap = Math.max(gap, this.gap * GAP_DECAY);
    this.lastHeard = Math.max(this.lastHeard, now);
  }

  /** Our own loop was stalled for `ms` beyond its expected tick: that time is not silence. */
  paused(ms: number): void {
    this.lastHeard += ms;
  }

  /** Silence that means dead: the configured intervals, stretched to the neighbour's own recent pace. */
  limitMs(): number {
    const intervals = this.deadAfterMs / this.intervalMs;
    return Math.min(this.deadAfterMs * MAX_DEAD_FACTOR, Math.max(this.deadAfterMs, intervals * this.gap));
  }

  dead(now: number): boolean {
    return now - this.lastHeard > this.limitMs();
  }
}
