/**
 * A token bucket in bytes: `rate` bytes per second refill a bucket of `burst` bytes, and
 * `take(n)` waits until n bytes may pass. A rate of 0 means no limit. Waiters are served in
 * order, so a large block does not starve behind a stream of small ones. A request larger
 * than the burst passes once the bucket is full and leaves it in debt, so any size works.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private rateNow: number,
    private burstNow = Math.max(256 * 1024, rateNow / 10),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstNow;
    this.last = now();
  }

  get rate(): number {
    return this.rateNow;
  }

  get burst(): number {
    return this.burstNow;
  }

  /** A new rate (SIGHUP reload); bytes already waiting are paced at it from now on. */
  setRate(rate: number): void {
    this.reserve(0);
    this.rateNow = rate;
    this.burstNow = Math.max(256 * 1024, rate / 10);
    this.tokens = Math.min(this.tokens, this.burstNow);
  }

  /** Milliseconds to wait before `n` bytes may pass, taking them if the wait is 0. Pure given `now`. */
  reserve(n: number): number {
    if (this.rate <= 0) return 0;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
    const need = Math.min(n, this.burst);
    if (this.tokens >= need) {
      this.tokens -= n;
      return 0;
    }
    return Math.ceil(((need - this.tokens) * 1000) / this.rate);
  }

  take(n: number, signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(async () => {
      for (let wait = this.reserve(n); wait > 0; wait = this.reserve(n)) await sleep(wait, undefined, { signal });
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
