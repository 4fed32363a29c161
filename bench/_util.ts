/** Helpers shared by benchmarks: option parsing, timing, running baseline commands. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/** Peak resident memory (kB) of a process, from /proc. */
export function peakRssKb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
