/**
 * Transfer rates and finish estimates from successive byte counts, for the live views
 * (`canopy status --watch`, `canopy top`). A short exponential average keeps the figure
 * steady between polls without hiding a stall for long.
 */
const SMOOTHING = 0.5;

export class RateTracker {
  private readonly last = new Map<string, { bytes: number; at: number; rate: number }>();

  /** Records `bytes` held at time `at` (ms) and returns the smoothed rate in bytes/s. */
  update(key: string, bytes: number, at: number): number {
    const prev = this.last.get(key);
    if (!prev || at <= prev.at) {
      this.last.set(key, { bytes, at, rate: prev?.rate ?? 0 });
      return prev?.rate ?? 0;
    }
    const instant = Math.max(0, (bytes - prev.bytes) / ((at - prev.at) / 1000));
    const rate = prev.rate === 0 ? instant : SMOOTHING * instant + (1 - SMOOTHING) * prev.rate;
    this.last.set(key, { bytes, at, rate });
    return rate;
  }
}

/** "12s", "4m05s", "2h03m"; "—" when nothing moves, "done" when nothing is left. */
export function formatEta(remaining: number, rate: number): string {
  if (remaining <= 0) return 'done';
  if (rate < 1) return '—'; // Under a byte a second is nothing moving, not a finish time centuries away.
  const s = Math.ceil(remaining / rate);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
