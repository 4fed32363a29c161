/**
 * The multi-host harness: N network namespaces joined by veth pairs to a bridge, each with
 * an address and a shaped link, for tests and benchmarks that need real bandwidth limits,
 * loss and kills between real processes. Needs root and iproute2 (nftables for loss).
 *
 * Layout of one run (every name carries the run id, so concurrent runs never collide):
 *
 *   ns `cn5-<pid>-<rand>-sw`  holds the bridge `br0` and the switch ends `p<i>` of the veths
 *   ns `cn5-<pid>-<rand>-<i>` holds `eth0` with 10.77.<i/250>.<i%250+1>/16
 *
 * Shaping is a tbf on each side of a host's veth: `eth0` egress caps what the host sends
 * (upload), `p<i>` egress in the switch caps what it receives (download). The bridge lives in
 * its own namespace, so nothing is added to the machine's own network stack, and deleting the
 * namespaces removes every link and qdisc. Teardown runs on stop(), on process exit and on
 * SIGINT/SIGTERM; `cleanupStale()` removes namespaces left by runs whose process is gone.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

export const NS_PREFIX = 'cn5-';
/** USER_HZ: /proc reports CPU time in these ticks (100 on Linux everywhere we run). */
const CLOCK_TICKS = 100;

export interface HostSpec {
  name: string;
  /** tc rate of what the host sends, e.g. "100mbit"; unshaped when absent. */
  up?: string;
  /** tc rate of what the host receives; defaults to `up`. */
  down?: string;
}

export interface Host {
  readonly index: number;
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly up: string | undefined;
  readonly down: string | undefined;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

/** Parses a tc rate ("100mbit", "25Mbit", "1gbit", "800kbit") into bits per second. */
export function rateBits(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(bit|bps)$/i.exec(rate.trim());
  if (!m) throw new Error(`not a tc rate: ${rate}`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult * (m[3]!.toLowerCase() === 'bps' ? 8 : 1);
}

function tbf(ns: string, dev: string, rate: string): void {
  const bits = rateBits(rate);
  // Burst must cover one timer tick at this rate; a 100 ms queue keeps bufferbloat modest
  // while letting TCP fill the link (measured 95-96 % of the rate with iperf3).
  const burst = Math.max(32 * 1024, Math.ceil(bits / 8 / 100));
  run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', String(burst), 'latency', '100ms']);
}

export class NetnsHarness {
  readonly runId: string;
  readonly switchNs: string;
  readonly hosts: Host[] = [];
  private readonly children = new Set<ChildProcess>();
  private stopped = false;
  private readonly onExit = () => this.teardownSync();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.teardownSync();
    process.kill(process.pid, signal);
  };

  private constructor() {
    this.runId = `${process.pid}-${randomBytes(2).toString('hex')}`;
    this.switchNs = `${NS_PREFIX}${this.runId}-sw`;
  }

  /** Builds the namespaces, bridge, links, addresses and shaping. Tears down what it made if any step fails. */
  static create(specs: HostSpec[]): NetnsHarness {
    const h = new NetnsHarness();
    process.once('exit', h.onExit);
    process.once('SIGINT', h.onSignal);
    process.once('SIGTERM', h.onSignal);
    try {
      h.build(specs);
    } catch (err) {
      h.teardownSync();
      throw err;
    }
    return h;
  }

  /** Removes namespaces of earlier runs whose process no longer exists. */
  static cleanupStale(): string[] {
    const removed: string[] = [];
    for (const line of run('ip', ['netns', 'list']).split('\n')) {
      const name = line.split(' ')[0] ?? '';
      const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(name);
      if (!m) continue;
      try {
        process.kill(Number(m[1]), 0);
      } catch {
        run('ip', ['netns', 'del', name]);
        removed.push(name);
      }
    }
    return removed;
  }

  private build(specs: HostSpec[]): void {
    if (specs.length > 60_000) throw new Error('too many hosts');
    run('ip', ['netns', 'add', this.switchNs]);
    this.exec(this.switchNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    this.exec(this.switchNs, ['ip', 'link', 'set', 'br0', 'up']);
    this.exec(this.switchNs, ['ip', 'link', 'set', 'lo', 'up']);
    specs.forEach((spec, index) => {
      const ns = `${NS_PREFIX}${this.runId}-${index}`;
      const ip = `10.77.${Math.floor(index / 250)}.${(index % 250) + 1}`;
      run('ip', ['netns', 'add', ns]);
      this.hosts.push({ index, name: spec.name, ns, ip, up: spec.up, down: spec.down ?? spec.up });
      const port = `p${index}`;
      this.exec(this.switchNs, ['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      this.exec(this.switchNs, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
      this.exec(ns, ['ip', 'addr', 'add', `${ip}/16`, 'dev', 'eth0']);
      this.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      if (spec.up) tbf(ns, 'eth0', spec.up);
      const down = spec.down ?? spec.up;
      if (down) tbf(this.switchNs, port, down);
    });
  }

  host(name: string): Host {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, argv: string[], input?: string): string {
    return run('ip', ['netns', 'exec', ns, ...argv], input);
  }

  /** Starts a long-lived process inside a host's namespace; it is killed at teardown. */
  spawn(host: Host, argv: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', host.ns, ...argv], options);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** CPU seconds (user + system) used so far by the processes this harness started and that still run. */
  cpuSeconds(): number {
    let ticks = 0;
    for (const child of this.children) {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // Exited meanwhile.
      }
    }
    return ticks / CLOCK_TICKS;
  }

  /** Bytes sent by a host's interface since the harness built it. */
  txBytes(host: Host): number {
    return Number(this.exec(host.ns, ['cat', '/sys/class/net/eth0/statistics/tx_bytes']).trim());
  }

  /** Bytes received by a host's interface since the harness built it. */
  rxBytes(host: Host): number {
    return Number(this.exec(host.ns, ['cat', '/sys/class/net/eth0/statistics/rx_bytes']).trim());
  }

  /** Drops a random `percent` of packets in both directions on a host's link (nftables). */
  setLoss(host: Host, percent: number): void {
    const table = 'canopy_loss';
    const rules = percent > 0
      ? `table inet ${table} {\n chain in { type filter hook input priority 0; policy accept; numgen random mod 1000 < ${Math.round(percent * 10)} drop; }\n chain out { type filter hook output priority 0; policy accept; oifname "eth0" numgen random mod 1000 < ${Math.round(percent * 10)} drop; }\n}\n`
      : '';
    try {
      this.exec(host.ns, ['nft', 'delete', 'table', 'inet', table]);
    } catch {
      // No table yet.
    }
    if (rules) this.exec(host.ns, ['nft', '-f', '-'], rules);
  }

  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`) and deletes every namespace. */
  async stop(graceMs = 5_000): Promise<void> {
    await Promise.all(
      [...this.children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.teardownSync();
  }

  private teardownSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of [...this.hosts.map((h) => h.ns), this.switchNs]) {
      // Processes may take a moment to leave after SIGKILL; `ip netns del` works regardless
      // (the namespace lives until its last process exits, its name goes now).
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // Already gone (or never made).
      }
    }
  }
}
