/**
 * Per-process and machine figures for benchmarks, from /proc: CPU seconds and peak RSS of a
 * process, how busy the whole machine was, the load average. A sampler polls RSS while a run
 * goes (VmHWM is read too, so a short peak between samples is not missed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { peakRssKb, procStat } from './_util.js';

export interface ProcFigures {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

/** CPU seconds (user + system) and memory of one process, or undefined once it has exited. */
export function procFigures(pid: number | undefined): ProcFigures | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = procStat(pid);
    if (!stat) return undefined;
    return { cpuSeconds: stat.cpuSeconds, rssMiB: stat.rssBytes / 2 ** 20, peakRssMiB: peakRssKb(pid) / 1024 };
  } catch {
    return undefined;
  }
}

/** Busy and total CPU ticks of the whole machine so far (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

/** Watches a set of processes while a run goes: machine busy fraction, peak load, peak RSS per process. */
export class RunSampler {
  private readonly start = machineTicks();
  private readonly timer: NodeJS.Timeout;
  private readonly peakRss = new Map<string, number>();
  private readonly periodRss = new Map<string, number>();
  private peakLoad1 = 0;
  readonly loadAtStart = loadAverage();

  constructor(private readonly pids: () => Map<string, number | undefined>, intervalMs = 1_000) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    this.peakLoad1 = Math.max(this.peakLoad1, Number(loadAverage().split(' ')[0]));
    for (const [name, pid] of this.pids()) {
      const f = procFigures(pid);
      if (!f) continue;
      this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, f.rssMiB, f.peakRssMiB));
      this.periodRss.set(name, Math.max(this.periodRss.get(name) ?? 0, f.rssMiB, f.peakRssMiB));
    }
  }

  /**
   * Peak RSS per process since the last call (or the start), then starts a new period: the
   * kernel's own peak (VmHWM) is reset too (`clear_refs` 5), so a phase's peak is its own.
   */
  periodPeaks(): Record<string, number> {
    this.sample();
    const peaks = Object.fromEntries(this.periodRss);
    this.periodRss.clear();
    for (const pid of this.pids().values()) {
      try {
        if (pid !== undefined) writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        // Gone, or not ours to reset: its next period's peak may then include this one.
      }
    }
    return peaks;
  }

  /** Stops sampling; call before the processes are stopped. */
  finish(): { busyFraction: number; loadAtStart: string; loadAtEnd: string; peakLoad1: number; peakRssMiB: Record<string, number> } {
    this.sample();
    clearInterval(this.timer);
    const end = machineTicks();
    const busyFraction = (end.busy - this.start.busy) / Math.max(1, end.total - this.start.total);
    return { busyFraction, loadAtStart: this.loadAtStart, loadAtEnd: loadAverage(), peakLoad1: this.peakLoad1, peakRssMiB: Object.fromEntries(this.peakRss) };
  }
}

/** min / median / max of a list, rounded. */
export function spread(values: number[], digits = 1): { min: number; median: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const median = s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  const r = (x: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return { min: r(s[0] ?? 0), median: r(median), max: r(s[s.length - 1] ?? 0) };
}
