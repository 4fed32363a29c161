/**
 * The moment a leader must stop acting, watched by a timer of its own. Renewals move the
 * deadline (`until` is read again each time the timer fires), but a renewal that hangs (its
 * database cut off: packets dropped, no error until a connection timeout) cannot postpone
 * it: the timer fires at the deadline whatever is still awaited.
 */
import { performance } from 'node:perf_hooks';

export class LeaseDeadline {
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly until: () => number,
    private readonly onPassed: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Calls `onPassed` once, at the first check after `until()` has passed (at once if it has). */
  start(): void {
    if (this.done) return;
    const left = this.until() - this.now();
    if (left < 0) {
      this.done = true;
      this.onPassed();
      return;
    }
    // Not keeping the process alive: a stopping root is not held up by its own deadline.
    this.timer = setTimeout(() => this.start(), left + 1);
    this.timer.unref();
  }

  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
  }
}
