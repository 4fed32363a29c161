/**
 * Tells systemd (Type=notify) that the node is ready. The protocol is one datagram on the
 * AF_UNIX socket named by NOTIFY_SOCKET; Node.js has no unix datagram sockets (dgram is UDP
 * only, up to Node 24), and a native addon for one sendmsg is not worth its build. So the
 * message is sent by systemd's own `systemd-notify`, which waits (a barrier) until systemd
 * has read it, so it cannot be lost when the short-lived child exits; the unit therefore
 * needs NotifyAccess=all. Without NOTIFY_SOCKET nothing is sent: the JSON `ready` line on
 * stdout is the signal for other supervisors (docs/OPERATIONS.md).
 */
import { spawn } from 'node:child_process';

export type NotifyOutcome = 'sent' | 'no-socket' | 'failed';

export interface NotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** The binary; a test may point it elsewhere. */
  command?: string;
  timeoutMs?: number;
}

/** Sends `fields` (e.g. READY=1, STATUS=...) when NOTIFY_SOCKET is set; never throws. */
export function sdNotify(fields: Record<string, string>, options: NotifyOptions = {}): Promise<{ outcome: NotifyOutcome; reason?: string }> {
  const env = options.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return Promise.resolve({ outcome: 'no-socket' });
  const args = [`--pid=${process.pid}`, ...Object.entries(fields).map(([k, v]) => (k === 'READY' && v === '1' ? '--ready' : `${k}=${v}`))];
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(options.command ?? 'systemd-notify', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ outcome: 'failed', reason: err.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? { outcome: 'sent' } : { outcome: 'failed', reason: stderr.trim() || `systemd-notify exited with ${code ?? signal}` });
    });
  });
}
