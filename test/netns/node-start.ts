/**
 * Waiting for a cluster node's `ready` line, and saying why it never came. A failed start is
 * often seen only in CI, where the test's directory (and the node's log in it) is gone by the
 * time anyone looks: so the error itself carries how the process ended (exit code, signal,
 * or killed by the ready timeout, with what it was doing then) and the end of its log.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeStuckStart, logTail } from '../../src/demo/stuck-start.js';

/** Generous: on a shared, starved machine (load 20+ on 2 cores) a node can take a minute to start. */
export const READY_TIMEOUT_MS = 120_000;
/** Lines of its log that a node's start error carries: enough for the lines that led to its end. */
export const LOG_TAIL_LINES = 40;

export interface ReadyAddresses {
  api: string;
  http: string;
  peer: string;
}

/**
 * Resolves with the addresses of the node's `ready` line (its stdout); rejects when its output
 * ends first. At `timeoutMs` the node is described (describeStuckStart: its start must have
 * been given reportEnv's NODE_OPTIONS, else the report signal would end it) and killed.
 */
export async function waitReady(child: ChildProcess, name: string, dataDir: string, timeoutMs = READY_TIMEOUT_MS): Promise<ReadyAddresses> {
  const logFile = path.join(dataDir, 'node.log');
  const lines = createInterface({ input: child.stdout! });
  let stuck: Promise<string> | undefined;
  const timer = setTimeout(() => {
    stuck = describeStuckStart(child, dataDir, logFile, LOG_TAIL_LINES).finally(() => child.kill('SIGKILL'));
  }, timeoutMs);
  try {
    for await (const line of lines) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as { event?: string; api: string; http: string; peer: { host: string; port: number } };
      // Once described it is being killed: a ready line that comes meanwhile is too late.
      if (e.event === 'ready' && !stuck) {
        child.stdout!.resume();
        return { api: e.api, http: e.http, peer: `${e.peer.host}:${e.peer.port}` };
      }
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(await startFailure(child, name, logFile, stuck, timeoutMs));
}

async function startFailure(child: ChildProcess, name: string, logFile: string, stuck: Promise<string> | undefined, timeoutMs: number): Promise<string> {
  const described = stuck ? await stuck : undefined;
  const end = await howItEnded(child);
  if (described !== undefined) return `node ${name} was not ready within ${timeoutMs} ms and was killed by the ready timeout (${end}); see ${logFile}\n${described}`;
  return `node ${name} exited before it was ready (${end}); see ${logFile}\nlast ${LOG_TAIL_LINES} lines of ${logFile}:\n${logTail(logFile, LOG_TAIL_LINES)}`;
}

/** Its exit code or signal; its output ends as it exits, so the exit is at most a moment away. */
async function howItEnded(child: ChildProcess, waitMs = 10_000): Promise<string> {
  if (child.exitCode === null && child.signalCode === null) await Promise.race([once(child, 'exit'), sleep(waitMs, undefined, { ref: false })]);
  if (child.signalCode !== null) return `signal ${child.signalCode}`;
  if (child.exitCode !== null) return `exit code ${child.exitCode}`;
  return `still running ${waitMs / 1000} s after its output ended`;
}
