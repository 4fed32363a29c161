/**
 * The root's status polled from one long-lived process in the root's namespace
 * (status-poll-child.mjs), for the benchmarks that poll while they measure.
 *
 * Why not `ip netns exec curl` per poll, as the tests do: at one poll every 200 ms that is
 * ten process starts a second on a 2-core machine, load which the swarm's members paid for
 * in CPU per byte (six pairs: member median 9.3 against 8.6 CPU s per GiB with a tenth of
 * the polls, notes/issue-15.md, Session 24) while the aria2c run beside it had none. The
 * child connects anew for each poll, as curl did, so `answerMs` keeps curl's meaning: from
 * connecting to the last byte.
 */
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import type { Host, NetnsHarness } from './harness.js';

const CHILD = new URL('./status-poll-child.mjs', import.meta.url).pathname;

export class StatusPoller {
  /** Every answer's time, connect to last byte (ms). */
  readonly answerMs: number[] = [];
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private ended: Error | undefined;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.wake();
    });
    child.on('exit', (code, signal) => {
      this.ended = new Error(`the status poller exited (${signal ?? code})`);
      this.wake();
    });
  }

  /** Starts polling `url` on `host` with the token in `tokenFile`, one poll every `intervalMs`. */
  static start(harness: NetnsHarness, host: Host, url: string, tokenFile: string, intervalMs: number): StatusPoller {
    const child = harness.spawn(host, [process.execPath, CHILD, url, tokenFile, String(intervalMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new StatusPoller(child);
  }

  /** The next poll's status; throws that poll's error (the caller counts failures, as with curl). */
  async next(): Promise<ContentStatus> {
    while (this.lines.length === 0) {
      if (this.ended) throw this.ended;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const poll = JSON.parse(this.lines.shift()!) as { answerMs?: number; body?: string; error?: string };
    if (poll.error !== undefined) throw new Error(poll.error);
    this.answerMs.push(poll.answerMs!);
    return JSON.parse(poll.body!) as ContentStatus;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
