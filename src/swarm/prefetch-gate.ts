/**
 * Holds background prefetch to each content's bandwidth policy (window and rate, from its
 * manifest): the downloader asks `admit` before each block. While a window is closed it
 * says so through `onWaiting`, so the convergence view can show why the node is not moving.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Manifest } from '../core/manifest.js';
import { msUntilOpen, parseWindow, RatePacer } from './prefetch-window.js';

/** Longest single sleep, so a cancelled download or a stopping node is noticed quickly. */
const MAX_NAP_MS = 1_000;

export class PrefetchGate {
  private readonly pacers = new Map<string, RatePacer>();

  constructor(
    private readonly onWaiting: (contentId: string, detail: string | undefined) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  async admit(contentId: string, manifest: Manifest, bytes: number, halted: () => boolean): Promise<void> {
    const policy = manifest.prefetch;
    if (!policy) return;
    if (policy.window) {
      const window = parseWindow(policy.window);
      let wait = msUntilOpen(window, new Date(this.clock()));
      if (wait > 0) {
        this.onWaiting(contentId, `prefetch runs ${policy.window} local time; opens in ${Math.ceil(wait / 60_000)} min`);
        while (wait > 0 && !halted()) {
          await sleep(Math.min(wait, MAX_NAP_MS));
          wait = msUntilOpen(window, new Date(this.clock()));
        }
        this.onWaiting(contentId, undefined);
      }
    }
    if (policy.rate) {
      let pacer = this.pacers.get(contentId);
      if (!pacer) this.pacers.set(contentId, (pacer = new RatePacer(policy.rate)));
      let wait = pacer.reserve(bytes, this.clock());
      while (wait > 0 && !halted()) {
        const nap = Math.min(wait, MAX_NAP_MS);
        await sleep(nap);
        wait -= nap;
      }
    }
  }
}
