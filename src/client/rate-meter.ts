/** Throughput and time left for a progress bar: "123.4 MiB/s, ETA 0:12", smoothed over the run so far. */
export class RateMeter {
  private readonly started = process.hrtime.bigint();
  private lastDraw = 0;

  /** Whether a redraw is due: at most ten a second, and always the last one. */
  due(done: number, total: number): boolean {
    const now = Date.now();
    if (done < total && now - this.lastDraw < 100) return false;
    this.lastDraw = now;
    return true;
  }

  note(done: number, total: number): string {
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    if (seconds <= 0 || done <= 0) return '';
    const rate = done / seconds;
    const left = total > done ? (total - done) / rate : 0;
    return `${(rate / 2 ** 20).toFixed(1)} MiB/s, ETA ${formatDuration(left)}`;
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
