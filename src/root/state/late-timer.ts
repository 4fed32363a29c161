/**
 * A repeating timer that measures how late each of its turns fires. The leader renews its
 * lease from one: a turn that fires late means the event loop was held by other work, the
 * one thing that can depose a healthy leader (issue 18), so the lateness is worth a log line
 * naming how much of the lease was left.
 */
import { performance } from 'node:perf_hooks';

export class LateTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs: number,
    /** Each turn, with how many ms after its due time it ran (0 or a little when the loop is free). */
    private readonly turn: (lateMs: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    let due = this.now() + this.everyMs;
    this.timer = setInterval(() => {
      const now = this.now();
      const late = Math.max(0, now - due);
      // The next turn is due a period after this one ran: one long stall is counted once, not again at every turn it delayed.
      due = now + this.everyMs;
      this.turn(late);
    }, this.everyMs);
    // Not keeping the process alive: a stopping root is not held up by its own lease timer.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
