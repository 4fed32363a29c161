/**
 * What a node that did not say `ready` in time was doing, for the timeout's error. A start that
 * hangs once in a CI run leaves nothing to look at afterwards (its temp dir is gone, the log
 * is not in the CI output), so the error itself carries: the process's state and CPU time
 * (busy or waiting? in the kernel, "D", or in user space?), its threads' states, the machine's
 * load, Node's diagnostic report (JavaScript stack and open handles: which await never
 * returned), and the last lines of its log.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The signal on which the nodes LocalNetwork starts write a diagnostic report (see `reportEnv`). */
const REPORT_SIGNAL = 'SIGUSR2';
const CLOCK_TICKS = 100;
/** How much of a log's end `logTail` reads: its last lines, never a whole log that may have grown large. */
const TAIL_BYTES = 64 * 1024;

/** NODE_OPTIONS for a child: a diagnostic report into `dir` on SIGUSR2 (no other effect). */
export function reportEnv(dir: string, inherited: string | undefined): string {
  const own = `--report-on-signal --report-signal=${REPORT_SIGNAL} --report-directory=${JSON.stringify(dir)}`;
  return inherited ? `${inherited} ${own}` : own;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** State letter and CPU seconds (user + system) from /proc/PID/stat; the name may hold spaces. */
function processState(pid: number): string {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 'no /proc entry (exited?)';
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const threads: Record<string, number> = {};
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Gone between the two reads.
  }
  for (const t of tasks) {
    const s = read(`/proc/${pid}/task/${t}/stat`);
    const state = s ? s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) : '?';
    threads[state] = (threads[state] ?? 0) + 1;
  }
  const wchan = read(`/proc/${pid}/wchan`) ?? '?';
  return `state ${fields[0]}, CPU ${cpu.toFixed(2)} s, threads ${JSON.stringify(threads)}, main thread waits in ${wchan || '-'}`;
}

/** Asks the child for a diagnostic report and summarises it: its JavaScript stack and open handles by type. */
async function report(child: ChildProcess, dir: string): Promise<string> {
  const before = new Set(safeList(dir));
  child.kill(REPORT_SIGNAL);
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    const file = safeList(dir).find((f) => f.startsWith('report.') && f.endsWith('.json') && !before.has(f));
    if (!file) continue;
    await sleep(200); // written in one go, but give it time to finish
    try {
      const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { javascriptStack?: { stack?: string[] }; libuv?: { type: string; is_active?: boolean }[] };
      const handles: Record<string, number> = {};
      for (const h of r.libuv ?? []) if (h.is_active) handles[h.type] = (handles[h.type] ?? 0) + 1;
      const stack = (r.javascriptStack?.stack ?? []).slice(0, 8).join(' | ');
      return `report ${path.join(dir, file)}: JS stack [${stack}], active handles ${JSON.stringify(handles)}`;
    } catch (err) {
      return `report ${file} unreadable (${(err as Error).message})`;
    }
  }
  return 'no diagnostic report within 10 s (the main thread is blocked outside JavaScript?)';
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The last `lines` lines of a log (as many as its last 64 KiB hold), for an error message; never throws. */
export function logTail(file: string, lines: number): string {
  const text = readEnd(file, TAIL_BYTES);
  if (text === undefined) return 'no log';
  const tail = text.trimEnd().split('\n').slice(-lines);
  return tail.length === 1 && tail[0] === '' ? 'empty log' : tail.join('\n');
}

/** At most the last `max` bytes of a file, from the first line that starts in them (or all of them: one long line). */
function readEnd(file: string, max: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const start = Math.max(0, fstatSync(fd).size - max);
    const buf = Buffer.alloc(max);
    const text = buf.subarray(0, readSync(fd, buf, 0, max, start)).toString('utf8');
    // The window may begin mid-line: that partial line is not shown.
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Keeps a copy of a start failure's description where CI prints it last (`CANOPY_STUCK_LOG`,
 * set by .ci/run): a failed hook's error sits in the middle of thousands of lines of test
 * output, which a CI summary cuts; the end of the output is what it always shows.
 */
export function recordStartFailure(message: string): void {
  const file = process.env.CANOPY_STUCK_LOG;
  if (!file) return;
  try {
    appendFileSync(file, `--- ${new Date().toISOString()} (pid ${process.pid}, ${process.argv.slice(1).map((a) => path.basename(a)).join(' ')})\n${message}\n`);
  } catch {
    // A diagnostic must not turn into a second failure.
  }
}

/** Everything above, as one text for an error message; never throws. */
export async function describeStuckStart(child: ChildProcess, dataDir: string, logFile: string, tailLines = 15): Promise<string> {
  const parts = [`machine load ${read('/proc/loadavg')?.trim() ?? '?'}`];
  if (child.pid !== undefined && child.exitCode === null) {
    parts.push(processState(child.pid));
    parts.push(await report(child, dataDir));
  }
  parts.push(`last lines of ${logFile}:\n${logTail(logFile, tailLines)}`);
  return parts.join('\n');
}
