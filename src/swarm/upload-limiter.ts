/**
 * Paces what a node uploads to peers: at most `concurrency` blocks are read and sent at
 * once (so memory stays a few blocks whatever the number of downloaders), the node's upload
 * cap is a token bucket, and the load it reports to downloaders (active uploads, queued
 * bytes, recent rate, cap) comes from here.
 */
import type { PeerLoad } from './peer-state.js';
import { TokenBucket } from './token-bucket.js';

const RATE_WINDOW_MS = 2_000;

export class UploadLimiter {
  private active = 0;
  private queuedBytes = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly bucket: TokenBucket;
  private windowStart = performance.now();
  private windowBytes = 0;
  private lastRate = 0;

  constructor(
    readonly cap: number,
    private readonly concurrency = 6,
  ) {
    this.bucket = new TokenBucket(cap);
  }

  /** Waits for an upload slot and for `bytes` of the cap; returns the function that frees the slot. */
  async acquire(bytes: number): Promise<() => void> {
    this.queuedBytes += bytes;
    try {
      if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiters.push(resolve));
      else this.active++;
      await this.bucket.take(bytes);
    } finally {
      this.queuedBytes -= bytes;
    }
    this.count(bytes);
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }

  load(): PeerLoad {
    this.count(0);
    return { uploads: this.active, queuedBytes: this.queuedBytes, rate: Math.round(this.lastRate), cap: this.cap };
  }

  private count(bytes: number): void {
    const t = performance.now();
    if (t - this.windowStart >= RATE_WINDOW_MS) {
      this.lastRate = (this.windowBytes * 1000) / (t - this.windowStart);
      this.windowStart = t;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
  }
}
