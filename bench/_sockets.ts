/**
 * Who a process's TCP sockets are connected to, from /proc: each socket descriptor's inode is
 * looked up in /proc/PID/net/tcp{,6} for its state and ports, and the far end's port is
 * matched with the local ports of the other processes we know. A connection to a peer that
 * restarted shows as one whose far end nobody owns any more ("gone"), or as a CLOSE_WAIT that
 * was never closed: that is what a leak looks like; one ESTABLISHED connection per peer and
 * direction is what a healthy mesh looks like.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const STATES: Record<string, string> = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING' };

interface TcpSocket {
  state: string;
  localPort: number;
  remotePort: number;
}

/** TCP sockets of one process (by its descriptors), with state and ports. */
export function tcpSockets(pid: number): TcpSocket[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // Closed between the listing and the read.
      }
    }
  } catch {
    return [];
  }
  const out: TcpSocket[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      out.push({ state: STATES[f[3]!] ?? f[3]!, localPort: parseInt(f[1]!.split(':')[1]!, 16), remotePort: parseInt(f[2]!.split(':')[1]!, 16) });
    }
  }
  return out;
}

/**
 * For each named process: its TCP sockets counted by state and by the process at the far end
 * (`listen` for listeners, `gone` when no known process holds the far port), e.g.
 * `{ ESTABLISHED: { root: 1, node3: 2, bench: 3 }, LISTEN: { listen: 5 } }`.
 */
export function connectionsByPeer(pids: Record<string, number>): Record<string, Record<string, Record<string, number>>> {
  const sockets = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, tcpSockets(pid)]));
  const owner = new Map<number, string>();
  for (const [name, list] of Object.entries(sockets)) for (const s of list) if (s.state !== 'LISTEN') owner.set(s.localPort, name);
  const listeners = new Map<number, string>();
  for (const [name, list] of Object.entries(sockets)) for (const s of list) if (s.state === 'LISTEN') listeners.set(s.localPort, name);
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const [name, list] of Object.entries(sockets)) {
    const byState: Record<string, Record<string, number>> = {};
    for (const s of list) {
      // The far end is the process holding the far port as its own end, or the listener there.
      const far = s.state === 'LISTEN' ? 'listen' : (owner.get(s.remotePort) ?? (listeners.has(s.remotePort) ? listeners.get(s.remotePort)! : 'gone'));
      const row = (byState[s.state] ??= {});
      row[far] = (row[far] ?? 0) + 1;
    }
    out[name] = byState;
  }
  return out;
}
