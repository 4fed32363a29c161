/** Helpers shared by benchmarks: option parsing, timing, running baseline commands, CPU and RSS of processes. */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSize } from '../src/core/sizes.js';

export function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

export function sizeOption(args: string[], name: string, fallback: string): number {
  return parseSize(option(args, name, fallback));
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

export function timedCommand(command: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
export const mbps = (bytes: number, seconds: number) => round(bytes / seconds / 1e6, 1);

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------
// CPU and memory of processes, for "CPU seconds per GiB" and peak RSS on a shared machine.
// Wall-clock figures move with whatever else runs; CPU time charged to our processes
// moves much less, so every data-path bench reports both.
// ---------------------------------------------------------------------------------------

/** USER_HZ: /proc reports CPU time in these ticks (100 on every Linux we run on). */
const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;
export const GiB = 2 ** 30;

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime of the process (all its threads), seconds. */
  cpuSeconds: number;
  /** cutime + cstime: CPU of children it has waited for, seconds. */
  childrenCpuSeconds: number;
  rssBytes: number;
  /** Minor page faults so far (fresh memory touched: on this VM kind each costs ~20-30 µs of kernel time). */
  minorFaults: number;
}

/** One process's /proc/<pid>/stat, or undefined when it is gone. */
export function procStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Fields after the command: state(0) ppid(1) ... minflt(7) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21)
  const f = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    ppid: Number(f[1]),
    comm,
    cpuSeconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS,
    childrenCpuSeconds: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS,
    rssBytes: Number(f[21]) * PAGE_BYTES,
    minorFaults: Number(f[7]),
  };
}

/** `pid` and every process below it (children, grandchildren...). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s) continue;
    const list = parents.get(s.ppid) ?? [];
    list.push(s.pid);
    parents.set(s.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of parents.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/**
 * CPU seconds of the children this process has waited for (cutime + cstime): wrap a
 * spawnSync (cp, sync, openssl, a bench child) between two calls to charge it exactly,
 * including its own children and threads.
 */
export function waitedChildrenCpuSeconds(): number {
  return procStat('self')!.childrenCpuSeconds;
}

/** CPU seconds of this process so far (all threads, workers included). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface MeteredProcess {
  pid: number;
  label: string;
  cpuSeconds: number;
  peakRssBytes: number;
  /** Minor page faults while the meter ran. */
  minorFaults: number;
}

export interface MeterReport {
  /** CPU seconds used by the watched processes while the meter ran. */
  cpuSeconds: number;
  /** Largest RSS of any one watched process. */
  peakRssBytes: number;
  /** Largest sum of RSS over the watched processes at one sample. */
  peakTotalRssBytes: number;
  processes: MeteredProcess[];
}

/**
 * Samples the CPU time and RSS of a changing set of processes every `intervalMs` while a
 * measurement runs: `pids()` is asked at each sample (e.g. `() => processTree(nginxPid)`).
 * A process that exits between samples keeps the CPU of its last sample, so short-lived
 * processes are under-counted by at most one interval; use waitedChildrenCpuSeconds for
 * those. CPU a process had before the meter first saw it is not counted (if it existed at
 * start()); a process born later counts from zero.
 */
export class ProcessMeter {
  private readonly seen = new Map<number, { label: string; start: number; last: number; peak: number; faults0: number; faults: number }>();
  private timer: NodeJS.Timeout | undefined;
  private peakTotal = 0;
  private started = false;

  constructor(
    private readonly pids: () => Iterable<number>,
    private readonly label: (stat: ProcStat) => string = (s) => s.comm,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.started = true;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): MeterReport {
    this.sample();
    clearInterval(this.timer);
    const processes = [...this.seen].map(([pid, s]) => ({ pid, label: s.label, cpuSeconds: round(s.last - s.start, 2), peakRssBytes: s.peak, minorFaults: s.faults - s.faults0 }));
    return {
      cpuSeconds: processes.reduce((a, p) => a + p.cpuSeconds, 0),
      peakRssBytes: Math.max(0, ...processes.map((p) => p.peakRssBytes)),
      peakTotalRssBytes: this.peakTotal,
      processes,
    };
  }

  private sample(): void {
    let total = 0;
    for (const pid of this.pids()) {
      const s = procStat(pid);
      if (!s) continue;
      total += s.rssBytes;
      const known = this.seen.get(pid);
      if (known) {
        known.last = s.cpuSeconds;
        known.peak = Math.max(known.peak, s.rssBytes);
        known.faults = s.minorFaults;
      } else {
        this.seen.set(pid, { label: this.label(s), start: this.started ? 0 : s.cpuSeconds, last: s.cpuSeconds, peak: s.rssBytes, faults0: this.started ? 0 : s.minorFaults, faults: s.minorFaults });
      }
    }
    this.peakTotal = Math.max(this.peakTotal, total);
  }
}

/** Measures `fn` with a meter on `pids` and returns its result with the meter's report. */
export async function metered<T>(pids: () => Iterable<number>, fn: () => Promise<T>): Promise<{ value: T; meter: MeterReport }> {
  const meter = new ProcessMeter(pids).start();
  try {
    const value = await fn();
    return { value, meter: meter.stop() };
  } catch (err) {
    meter.stop();
    throw err;
  }
}

/** CPU seconds per GiB moved. */
export const perGiB = (cpuSeconds: number, bytes: number) => round(cpuSeconds / (bytes / GiB), 2);
export const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

/** Peak resident memory (kB) of a process, from /proc (VmHWM: the high-water mark, not a sample). */
export function peakRssKb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSecondsOf(pid: number): number {
  return procStat(pid)?.cpuSeconds ?? 0;
}

/** The p-th percentile (nearest rank) of a list. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** n, p50, p99 and max of latencies (ms), rounded. */
export function latencySummary(values: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  return { n: values.length, p50: round(percentile(values, 50), 1), p99: round(percentile(values, 99), 1), max: round(values.length ? values.reduce((a, b) => Math.max(a, b), -Infinity) : Number.NaN, 1) };
}

/**
 * Under `npm run bench -- profile`, marks where the part a bench times starts and ends
 * (monotonic microseconds, the clock V8's profiles use), so that profile.ts summarises the
 * data path and not the start-up of the nodes. `phase` names a part of it (distribute:
 * `publish`, `spread`); CANOPY_PROFILE_PHASE=NAME summarises that part only. A no-op
 * outside a profile.
 */
export function profileWindow(edge: 'start' | 'end', phase = ''): void {
  const dir = process.env.CANOPY_CPU_PROF_DIR;
  if (dir) appendFileSync(path.join(dir, 'windows.jsonl'), `${JSON.stringify({ edge, phase, us: Number(process.hrtime.bigint() / 1000n) })}\n`);
}
