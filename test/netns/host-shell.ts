/**
 * One person's shell on one namespace host, for the tests that run docs as written
 * (deploy-doc.test.ts, origins-doc.test.ts): a long-lived bash fed one line at a time, so
 * exports and background jobs carry over as at a prompt; each line's output and exit status
 * come back.
 */
import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../helpers/wait.js';
import type { Host, NetnsHarness } from './harness.js';

export class HostShell {
  private buffer = '';
  private readonly child: ChildProcess;

  constructor(harness: NetnsHarness, host: Host, readonly dir: string, options: { cwd: string; env: Record<string, string> }) {
    this.child = harness.spawn(host, ['bash'], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.buffer += d.toString()));
    this.child.stdin!.write('exec 2>&1\n');
  }

  /** Runs one line in the shell (stdin from /dev/null, as a line typed at a prompt would not read ours). */
  async run(line: string, timeoutMs = 240_000): Promise<{ rc: number; out: string }> {
    this.buffer = '';
    this.child.stdin!.write(`{ ${line}\n} </dev/null; printf '\\n__RC__ %s\\n' "$?"\n`);
    let m: RegExpExecArray | null = null;
    // A line that ends the shell (exit, exec) ends the wait at once, with what it printed.
    await waitFor(`"${line}" to finish`, async () => (m = /\n__RC__ (\d+)\n/.exec(this.buffer)) !== null || this.child.exitCode !== null, timeoutMs);
    const match = m as RegExpExecArray | null;
    if (!match) return { rc: -1, out: `${this.buffer}\n(the shell exited)` };
    return { rc: Number(match[1]), out: this.buffer.slice(0, match.index) };
  }

  /** Ends the shell's input; its output pipe is let go too, so a process it left behind cannot hold the test open. */
  close(): void {
    this.child.stdin!.end();
    this.child.stdout!.destroy();
  }
}
