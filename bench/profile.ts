/**
 * `npm run bench -- profile STAGE [options of that bench]`: runs bench STAGE (ingest, tls,
 * edge, distribute...) with every Node process it starts under `--cpu-prof`-style sampling (bench/_cpu-prof.mjs), writes the
 * profiles to .tmp/profile-STAGE-<time>/, and prints, for the busiest processes, the
 * profile's path and its top 15 functions by self time (share of the process's samples).
 * Open a .cpuprofile in Chrome DevTools (Performance tab) or speedscope to read it whole.
 * Small sizes profile as well as big ones: e.g. `profile ingest --size 256MiB --rounds 1`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, round } from './_util.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  argv?: string[];
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  path: string;
  /** The script the process ran (bench file or the CLI), from the profile's frames. */
  entry: string;
  /** Milliseconds of samples that were not idle (inside the bench's timed windows, when it marked them). */
  busyMs: number;
  /** Milliseconds the summary covers: the timed windows' length, or the process's life. */
  spanMs: number;
  top: { function: string; where: string; selfMs: number; percent: number }[];
}

/** A timed part of a bench, monotonic microseconds (bench/_util.ts profileWindow). */
export type Window = [number, number];

/** The windows a bench marked in `dir` (start/end pairs per phase), of one phase if `phase` is given, or none. */
export function readWindows(dir: string, phase = process.env.CANOPY_PROFILE_PHASE ?? ''): Window[] {
  const file = path.join(dir, 'windows.jsonl');
  if (!existsSync(file)) return [];
  const marks = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { edge: string; phase?: string; us: number });
  const out: Window[] = [];
  const open = new Map<string, number>();
  for (const m of marks) {
    const name = m.phase ?? '';
    if (m.edge === 'start') open.set(name, m.us);
    else if (open.has(name)) {
      if (phase === '' ? name === '' : name === phase) out.push([open.get(name)!, m.us]);
      open.delete(name);
    }
  }
  return out;
}

/**
 * Top functions by self time of one .cpuprofile; percent is of the busy (non-idle)
 * samples. With `windows`, only samples taken inside them count.
 */
export function summarise(file: string, count = 15, windows: readonly Window[] = []): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, { frame: CallFrame; us: number }>();
  const inside = (t: number) => windows.length === 0 || windows.some(([a, b]) => t >= a && t <= b);
  let busy = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)!;
    const us = profile.timeDeltas[i] ?? 0;
    t += us;
    if (!inside(t)) return;
    if (frame.functionName !== '(idle)') busy += us;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = self.get(key) ?? { frame, us: 0 };
    entry.us += us;
    self.set(key, entry);
  });
  const entry = (profile.argv ?? ['?']).map((a) => a.replace(`${repo}/`, '')).join(' ').slice(0, 200);
  const top = [...self.values()]
    .filter((e) => e.frame.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((e) => ({
      function: e.frame.functionName || '(anonymous)',
      where: where(e.frame),
      selfMs: round(e.us / 1000, 1),
      percent: round((100 * e.us) / Math.max(busy, 1), 1),
    }));
  const spanMs = windows.length ? windows.reduce((a, [s, e]) => a + (e - s), 0) / 1000 : (profile.endTime - profile.startTime) / 1000;
  return { path: file, entry, busyMs: round(busy / 1000, 0), spanMs: round(spanMs, 0), top };
}

function where(frame: CallFrame): string {
  if (!frame.url) return 'native';
  const file = frame.url.startsWith('file:') ? path.relative(repo, fileURLToPath(frame.url)) : frame.url;
  return `${file}:${frame.lineNumber + 1}`;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const [stage, ...rest] = args;
  if (!stage || stage === 'profile') throw new Error('usage: npm run bench -- profile STAGE [options], e.g. profile ingest --size 256MiB --rounds 1');
  const dir = path.join(repo, '.tmp', `profile-${stage}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  log(`profiling bench ${stage}; profiles go to ${dir}`);
  // Node 20 refuses --cpu-prof in NODE_OPTIONS; a preloaded module starts the profiler instead.
  const env = { ...process.env, CANOPY_CPU_PROF_DIR: dir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${path.join(here, '_cpu-prof.mjs')}`.trim() };
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'run.ts'), stage, ...rest], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench ${stage} failed with ${r.status}`);
  const benchResult = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  // A bench that marks its timed part (profileWindow) is summarised over that part only.
  const windows = readWindows(dir);
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => summarise(path.join(dir, f), 15, windows))
    .sort((a, b) => b.busyMs - a.busyMs);
  for (const p of profiles.slice(0, 4)) {
    log(`\n${p.path} (${p.entry}, ${p.busyMs} ms busy of ${p.spanMs} ms${windows.length ? ' timed' : ''})`);
    for (const t of p.top) log(`  ${String(t.percent).padStart(5)} %  ${t.function}  ${t.where}`);
  }
  return { stage, dir, timedWindows: windows.length, profiles: profiles.slice(0, 4), otherProfiles: profiles.length - Math.min(4, profiles.length), benchResult };
}

/** Milliseconds of a .cpuprofile's samples whose stack passes through a file whose URL contains `fragment` (inclusive time). */
export function inclusiveMs(file: string, fragment: string): number {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile & { nodes: { id: number; callFrame: CallFrame; children?: number[] }[] };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inFile = new Set(profile.nodes.filter((n) => n.callFrame.url.includes(fragment)).map((n) => n.id));
  const under = new Map<number, boolean>();
  const isUnder = (id: number): boolean => {
    const known = under.get(id);
    if (known !== undefined) return known;
    const p = parent.get(id);
    const v = inFile.has(id) || (p !== undefined && isUnder(p));
    under.set(id, v);
    return v;
  };
  let us = 0;
  profile.samples.forEach((id, i) => {
    if (isUnder(id)) us += profile.timeDeltas[i] ?? 0;
  });
  return round(us / 1000, 0);
}
