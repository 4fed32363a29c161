/**
 * Soak: does a network that runs for months stay flat? Starts a root and four nodes as real
 * processes and drives the churn an operator sees: a 2-8 MiB content published every few
 * seconds (some new versions of a recurring name, some content-defined, some expiring),
 * contents older than a few minutes withdrawn, readers fetching whole files and ranges with
 * every byte checked, the dashboard's API polled, and a node or the root restarted now and
 * then (SIGTERM or kill -9). Every process is sampled (RSS, open descriptors, sockets) and
 * the result gives, per process never restarted, the least-squares slope over the second
 * half of the run, plus readsChecked, wrongBytes, orphanFiles and the largest API answer.
 *
 * `npm run bench -- soak --minutes 30` (or `--hours N`). The baseline is the process's own
 * first half: a leak shows as a slope that does not fall to zero. Options: --nodes 4
 * --publish-every 5s --withdraw-after 3m --restart-every 6m --sample-every 30s
 * [--node-preload /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 (root and nodes only)]
 * [--samples FILE (every sample, CPU seconds included)] [--keep-root (never restart the root)]
 * [--arm-env 'MALLOC_MMAP_THRESHOLD_=131072' --arm-processes node2,node3 (an A/B in one run:
 * those processes get the settings; default the even-numbered nodes)]
 * [--heap-snapshots DIR --heap-snapshots-of root,node1 (V8 heap snapshots at a quarter and at the end)].
 * `test/integration/soak.test.ts` runs `soak()` short, with fixed cycles.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { publishFile } from '../src/client/publish-file.js';
import { parseDuration, parseExpires } from '../src/core/expiry.js';
import { loadOrCreateKeyFile, type PublisherKey } from '../src/ingest/publisher-key.js';
import { LocalNetwork, NODE_MALLOC_ENV, stopProcess, type RunningNode } from '../src/demo/local-network.js';
import { log, option, round } from './_util.js';
import { orphanFiles, sampleProcess, slopePerHour, type ProcessSample } from './_soak-probes.js';
import { connectionsByPeer } from './_sockets.js';

export interface SoakOptions {
  dir: string;
  durationMs: number;
  nodes: number;
  publishEveryMs: number;
  withdrawAfterMs: number;
  /** 0: never restart anything. */
  restartEveryMs: number;
  sampleEveryMs: number;
  minSize: number;
  maxSize: number;
  /** Stop after this many publishes (the short test), whatever the time. */
  maxPublishes?: number;
  readers: number;
  /** Whether restarts include the root (default true). */
  restartRoot?: boolean;
  /**
   * Where the processes of `heapSnapshotsOf` (default the root and node1, never restarted)
   * write a V8 heap snapshot after a quarter of the run and at its end
   * (`--heapsnapshot-signal`); compare them with scripts/heap-diff.mjs. Writing one leaves
   * the process's glibc `[heap]` ~90 MiB larger for good (session 9): its RSS slope after
   * that is not comparable with the others'.
   */
  heapSnapshotDir?: string;
  heapSnapshotsOf?: string[];
  /**
   * An A/B inside one run: the processes named in `armProcesses` start (and restart) with
   * `armEnv` added (arm B), the others without (arm A), so both arms see the same root and churn.
   */
  armEnv?: Record<string, string | undefined>;
  armProcesses?: string[];
}

interface Sample extends ProcessSample {
  t: number;
  /** Sockets connected to this bench (its readers and API pollers), not to a Canopy process. */
  clientSockets: number;
  /** V8 heap in use, from the process's own /metrics; null when it did not answer in time. */
  heapMiB: number | null;
  /** V8 heap reserved (its pages: young and old generations), same source. */
  heapTotalMiB: number | null;
  /** Buffers outside the V8 heap (process.memoryUsage().external), same source. */
  externalMiB: number | null;
  /** Idle buffers in the block pool (core/block-pool.ts), and buffers leased, same source. */
  poolFreeMiB: number | null;
  poolLeased: number | null;
}

interface Live {
  contentId: string;
  file: string;
  size: number;
  sha256: string;
  publishedAt: number;
  expiresAt: number | null;
}

export interface ProcessReport {
  name: string;
  /** 'B' when the process ran with SoakOptions.armEnv. */
  arm: 'A' | 'B';
  restarted: boolean;
  /** CPU seconds and minor page faults between the first and the last sample (a process never restarted). */
  cpuSeconds: number | null;
  minorFaults: number | null;
  samples: number;
  start: Omit<Sample, 't'>;
  end: Omit<Sample, 't'>;
  rssMiBPerHour: number | null;
  rssMiBPerHourLast20Min: number | null;
  mallocHeapMiBPerHourLast20Min: number | null;
  rssMiBPerHourLast40Min: number | null;
  mallocHeapMiBPerHourLast40Min: number | null;
  anonMiBPerHour: number | null;
  mallocHeapMiBPerHour: number | null;
  rssLessExternalMiBPerHour: number | null;
  heapMiBPerHour: number | null;
  externalMiBPerHour: number | null;
  fdsPerHour: number | null;
  connectionsPerHour: number | null;
  /** Descriptors other than this bench's own client connections: what the process itself holds. */
  fdsLessClientsPerHour: number | null;
}

export interface SoakResult {
  minutes: number;
  publishes: number;
  withdrawals: number;
  expiries: number;
  restarts: string[];
  publishRetries: number;
  readsChecked: number;
  wrongBytes: number;
  /** Reads a node that meets the criteria (or the root) did not answer with the content's bytes. */
  readErrors: number;
  /**
   * Reads sent to a node that does not meet the criteria: it holds nothing of the content and
   * must answer 503 ERR_NOT_HELD (docs/EDGE.md). `unqualifiedServed` counts any other answer.
   */
  unqualifiedRefusals: number;
  unqualifiedServed: number;
  orphanFiles: number;
  maxApiBytes: Record<string, number>;
  maxListenersWarnings: number;
  processes: ProcessReport[];
  /**
   * At the end, before the stop: each process's TCP sockets by state and by the process at
   * the far end ("gone": nobody we know holds it, e.g. a peer's process before its restart).
   */
  connections: Record<string, Record<string, Record<string, number>>>;
  loadavg: number[];
}

/** Contents go to this region; every fourth node is elsewhere (it must refuse them). */
const SOAK_REGION = 'eu';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class Soak {
  network: LocalNetwork;
  readonly samples = new Map<string, Sample[]>();
  readonly restarted = new Set<string>();
  readonly live: Live[] = [];
  readonly result: SoakResult = { minutes: 0, publishes: 0, withdrawals: 0, expiries: 0, restarts: [], publishRetries: 0, readsChecked: 0, wrongBytes: 0, readErrors: 0, unqualifiedRefusals: 0, unqualifiedServed: 0, orphanFiles: 0, maxApiBytes: {}, maxListenersWarnings: 0, processes: [], connections: {}, loadavg: [] };
  private key!: PublisherKey;
  private stopped = false;
  private readonly t0 = Date.now();
  private recurring = new Map<string, Buffer>();

  constructor(readonly options: SoakOptions) {
    // On a busy machine a node started under tsx can take longer than the usual 30 s to be ready.
    process.env.CANOPY_READY_TIMEOUT_MS ??= '120000';
    // Fixed ports, so a restarted root is found again where the nodes look for it.
    this.network = this.makeNetwork(0);
    if (options.heapSnapshotDir) {
      mkdirSync(options.heapSnapshotDir, { recursive: true });
      process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${options.heapSnapshotDir}`.trim();
    }
  }

  private makeNetwork(attempt: number): LocalNetwork {
    const base = this.options.restartEveryMs > 0 ? 20_000 + Math.floor(Math.random() * 400) * 100 : 0;
    const network = new LocalNetwork(path.join(this.options.dir, `net-${attempt}`), base, path.join(this.options.dir, 'publisher-key.json'));
    for (const name of this.options.armEnv ? (this.options.armProcesses ?? []) : []) network.envFor.set(name, this.options.armEnv!);
    return network;
  }

  get processes(): RunningNode[] {
    return [this.network.root!, ...this.network.nodes];
  }

  async start(): Promise<void> {
    mkdirSync(path.join(this.options.dir, 'files'), { recursive: true });
    this.key = loadOrCreateKeyFile(path.join(this.options.dir, 'publisher-key.json'));
    const specs = Array.from({ length: this.options.nodes }, (_, i) => ({ name: `node${i + 1}`, attrs: { region: i % 4 === 3 ? 'us' : SOAK_REGION } }));
    // Fixed ports may be taken by another program on a shared machine: then try other ones.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.network.start(specs);
        return;
      } catch (err) {
        if (attempt >= 2 || this.options.restartEveryMs === 0) throw err;
        log(`soak: start failed (${(err as Error).message}); trying other ports`);
        this.network = this.makeNetwork(attempt + 1);
      }
    }
  }

  async sample(): Promise<void> {
    const peers = connectionsByPeer(this.pids());
    await Promise.all(
      this.processes.map(async (p) => {
        const s = p.process.pid === undefined ? undefined : sampleProcess(p.process.pid);
        if (!s) return;
        const t = Date.now() - this.t0;
        const memory = await this.memory(p);
        // Connections of this bench's own readers and pollers come and go with their keep-alive.
        const clientSockets = Object.values(peers[p.name] ?? {}).reduce((n, byPeer) => n + (byPeer.bench ?? 0), 0);
        const list = this.samples.get(p.name) ?? [];
        list.push({ t, ...s, clientSockets, ...memory });
        this.samples.set(p.name, list);
      }),
    );
  }

  /** The process's V8 heap in use and external memory (MiB), as its /metrics reports them. */
  private async memory(p: RunningNode): Promise<Pick<Sample, 'heapMiB' | 'heapTotalMiB' | 'externalMiB' | 'poolFreeMiB' | 'poolLeased'>> {
    try {
      const res = await fetch(`${p.api}/metrics`, { headers: { authorization: `Bearer ${this.network.apiToken()}` }, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      const mib = (name: string) => {
        const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
        return m ? round(Number(m[1]) / 2 ** 20, 1) : null;
      };
      const count = (name: string) => {
        const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
        return m ? Number(m[1]) : null;
      };
      return { heapMiB: mib('canopy_process_heap_used_bytes'), heapTotalMiB: mib('canopy_process_heap_total_bytes'), externalMiB: mib('canopy_process_external_bytes'), poolFreeMiB: mib('canopy_block_pool_free_bytes'), poolLeased: count('canopy_block_pool_leased_buffers') };
    } catch {
      return { heapMiB: null, heapTotalMiB: null, externalMiB: null, poolFreeMiB: null, poolLeased: null };
    }
  }

  /** Asks the processes of `heapSnapshotsOf` for a heap snapshot and waits until all are written (they answer again). */
  async heapSnapshots(): Promise<void> {
    if (!this.options.heapSnapshotDir) return;
    const targets = this.processes.filter((p) => (this.options.heapSnapshotsOf ?? ['root', 'node1']).includes(p.name));
    for (const p of targets) p.process.kill('SIGUSR2');
    await sleep(1_000);
    await Promise.all(targets.map((p) => fetch(`${p.api}/healthz`, { signal: AbortSignal.timeout(300_000) }).catch(() => undefined)));
    log(`soak: heap snapshots of ${targets.map((p) => `${p.name} (pid ${p.process.pid})`).join(', ')} in ${this.options.heapSnapshotDir}`);
  }

  /** Publishes one content: a fresh file, or a new version of a recurring name with one edit. */
  async publishOne(): Promise<Live> {
    const n = this.result.publishes++;
    const size = this.options.minSize + Math.floor(Math.random() * (this.options.maxSize - this.options.minSize));
    const recurringName = n % 3 === 0 ? `build-${n % 2}.bin` : undefined;
    let data: Buffer;
    const previous = recurringName ? this.recurring.get(recurringName) : undefined;
    if (previous) {
      data = Buffer.from(previous);
      randomBytes(4096).copy(data, Math.floor(Math.random() * (data.length - 4096)));
    } else {
      data = randomBytes(size);
    }
    if (recurringName) this.recurring.set(recurringName, data);
    const name = recurringName ?? `c${n}.bin`;
    const file = path.join(this.options.dir, 'files', `${n}-${name}`);
    writeFileSync(file, data);
    return this.publishFile(file, name, n, data);
  }

  private async publishFile(file: string, name: string, n: number, data: Buffer, retried = false): Promise<Live> {
    const expires = n % 5 === 4 ? Math.max(2_000, Math.min(120_000, this.options.withdrawAfterMs / 2)) : null;
    const publish = () => publishFile(this.network.rootApi, file, {
      name,
      criteria: `region=${SOAK_REGION}`,
      key: this.key,
      chunking: n % 4 === 1 ? 'cdc' : 'fixed',
      ...(expires ? { expires: parseExpires(`${Math.round(expires / 1000)}s`, Date.now()) } : {}),
    });
    // A streamed upload cannot be replayed by the HTTP client: when a kept-alive connection
    // was closed under it (the server's 5 s idle timeout), publish again, once.
    const r = await publish().catch((err: Error) => {
      if (retried || !/EPIPE|UND_ERR_SOCKET|ECONNRESET/.test(err.message)) throw err;
      this.result.publishRetries++;
      return publish();
    });
    const live: Live = { contentId: r.contentId, file, size: data.length, sha256: sha(data), publishedAt: Date.now(), expiresAt: expires ? Date.now() + expires : null };
    this.live.push(live);
    return live;
  }

  /** Withdraws every content older than withdrawAfterMs, and forgets expired ones; `all` withdraws every live one. */
  async retire(all = false): Promise<void> {
    const now = Date.now();
    for (const c of [...this.live]) {
      if (c.expiresAt !== null && c.expiresAt <= now) {
        this.drop(c);
        this.result.expiries++;
        continue;
      }
      if (!all && now - c.publishedAt < this.options.withdrawAfterMs) continue;
      this.drop(c);
      await this.network.rootApi.post(`/api/contents/${c.contentId}/withdraw?reason=soak`).catch((err: Error) => log(`withdraw ${c.contentId.slice(0, 12)}: ${err.message}`));
      this.result.withdrawals++;
    }
  }

  private drop(c: Live): void {
    this.live.splice(this.live.indexOf(c), 1);
    rmSync(c.file, { force: true });
  }

  /** One read from a random node: the whole content or a range, every byte compared. */
  async readOne(): Promise<void> {
    const now = Date.now();
    // Contents near their expiry or just published may rightly answer 410 or still be in flight.
    const candidates = this.live.filter((c) => now - c.publishedAt > 3_000 && (c.expiresAt === null || c.expiresAt - now > 3_000) && now - c.publishedAt < this.options.withdrawAfterMs - 3_000);
    const c = candidates[Math.floor(Math.random() * candidates.length)];
    const all = this.processes;
    const node = all[Math.floor(Math.random() * all.length)];
    if (!c || !node || this.restarting) return;
    const range = Math.random() < 0.5;
    const start = range ? Math.floor(Math.random() * c.size) : 0;
    const end = range ? Math.min(c.size - 1, start + Math.floor(Math.random() * 2 ** 20)) : c.size - 1;
    try {
      const res = await fetch(`${node.http}/content/${c.contentId}`, { headers: range ? { range: `bytes=${start}-${end}` } : {}, signal: AbortSignal.timeout(30_000) });
      if (node !== this.network.root && node.attrs.region !== SOAK_REGION) {
        // Targeting is enforced: this node may not hold the content, so it must refuse.
        await res.body?.cancel();
        if (res.status === 503) this.result.unqualifiedRefusals++;
        else this.result.unqualifiedServed++;
        return;
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        if (this.live.includes(c) && !this.restarting) this.result.readErrors++;
        return;
      }
      const got = Buffer.from(await res.arrayBuffer());
      const want = readFileSync(c.file).subarray(start, end + 1);
      this.result.readsChecked++;
      if (got.length !== want.length) this.result.wrongBytes += Math.abs(got.length - want.length);
      for (let i = 0; i < Math.min(got.length, want.length); i++) if (got[i] !== want[i]) this.result.wrongBytes++;
    } catch {
      // A node restarting, or a content withdrawn while read: not a wrong byte.
      if (this.live.includes(c) && !this.restarting) this.result.readErrors++;
    }
  }

  private restarting = false;

  /** Restarts one process: each turn the next one, alternating SIGTERM and kill -9. */
  async restartOne(turn: number): Promise<void> {
    // The second half of the nodes take turns; every fifth turn is the root's (unless restartRoot
    // is false). The first half of the nodes (and the root in runs under 30 min) are never
    // restarted: theirs are the slopes the result reports.
    const nodes = this.network.nodes.slice(Math.floor(this.network.nodes.length / 2));
    const target = turn % 5 === 0 && this.options.restartRoot !== false ? this.network.root! : nodes[turn % nodes.length]!;
    const hard = turn % 2 === 1;
    this.restarting = true;
    try {
      if (hard) target.process.kill('SIGKILL');
      await stopProcess(target.process);
      const isRoot = target === this.network.root;
      const index = isRoot ? 0 : this.network.nodes.indexOf(target) + 1;
      const join = `${this.network.root!.peer.host}:${this.network.root!.peer.port}`;
      const fresh = await this.network.spawnNode({ name: target.name, attrs: target.attrs }, index, isRoot ? ['--root'] : ['--join', join]);
      if (isRoot) this.network.root = fresh;
      else this.network.nodes[index - 1] = fresh;
      this.restarted.add(target.name);
      this.result.restarts.push(`${target.name} ${hard ? 'kill -9' : 'SIGTERM'} at ${round((Date.now() - this.t0) / 60_000, 1)} min`);
      await this.network.waitJoined(this.options.nodes);
    } finally {
      this.restarting = false;
    }
  }

  /** Polls the APIs an operator's dashboard polls, keeping the largest answer of each. */
  async pollApis(): Promise<void> {
    for (const route of ['/api/overview', '/api/contents', '/metrics']) {
      try {
        const res = await fetch(`${this.network.root!.api}${route}`, { headers: { authorization: `Bearer ${this.network.apiToken()}` } });
        const bytes = (await res.arrayBuffer()).byteLength;
        this.result.maxApiBytes[route] = Math.max(this.result.maxApiBytes[route] ?? 0, bytes);
      } catch {
        // The root restarting.
      }
    }
  }

  /** Runs the churn until the time (or publish count) is up. */
  async run(): Promise<void> {
    const o = this.options;
    this.stopped = false;
    const loops: Promise<void>[] = [];
    const every = (ms: number, fn: () => Promise<void> | void) =>
      loops.push(
        (async () => {
          while (!this.stopped) {
            await Promise.resolve(fn()).catch((err: Error) => log(`soak: ${err.message}`));
            await sleep(ms);
          }
        })(),
      );
    for (let i = 0; i < o.readers; i++) every(200, () => this.readOne());
    every(o.sampleEveryMs, () => this.sample());
    every(2_000, () => this.pollApis());
    let turn = 1;
    const deadline = this.t0 + o.durationMs;
    let nextRestart = o.restartEveryMs > 0 ? this.t0 + o.restartEveryMs : Infinity;
    let snapshotAt = o.heapSnapshotDir ? this.t0 + o.durationMs / 4 : Infinity;
    while (Date.now() < deadline && (o.maxPublishes === undefined || this.result.publishes < o.maxPublishes)) {
      const t = Date.now();
      if (!this.restarting) {
        await this.publishOne().catch((err: Error) => log(`publish: ${err.message}`));
        await this.retire();
      }
      if (Date.now() >= snapshotAt) {
        snapshotAt = Infinity;
        await this.heapSnapshots();
      }
      // No restart in the last tenth of the run: the end values would be a fresh process's.
      if (Date.now() >= nextRestart && Date.now() < deadline - o.durationMs / 10) {
        await this.restartOne(turn++).catch((err: Error) => log(`restart: ${err.message}`));
        nextRestart += o.restartEveryMs;
      }
      await sleep(Math.max(0, o.publishEveryMs - (Date.now() - t)));
    }
    this.stopped = true;
    await Promise.all(loops);
    await this.sample();
    await this.heapSnapshots();
  }

  /**
   * Open descriptors of each process once the network is quiet: the least of a few looks,
   * after the HTTP keep-alive timeout (5 s), so idle client connections have been closed.
   */
  async quietDescriptors(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await sleep(6_000);
    for (let i = 0; i < 5; i++) {
      await sleep(400);
      for (const p of this.processes) {
        const fds = p.process.pid === undefined ? undefined : sampleProcess(p.process.pid)?.fds;
        if (fds !== undefined) out.set(p.name, Math.min(out.get(p.name) ?? Infinity, fds));
      }
    }
    return out;
  }

  /** The pid of each process by name, and this bench's as `bench`. */
  private pids(): Record<string, number> {
    const pids: Record<string, number> = { bench: process.pid };
    for (const p of this.processes) if (p.process.pid !== undefined) pids[p.name] = p.process.pid;
    return pids;
  }

  /** Stops the network and computes the report. */
  allSamples(): Record<string, Sample[]> {
    return Object.fromEntries(this.samples);
  }

  async finish(): Promise<SoakResult> {
    const r = this.result;
    r.connections = connectionsByPeer(this.pids());
    await this.network.stop();
    r.minutes = round((Date.now() - this.t0) / 60_000, 1);
    r.loadavg = loadavg().map((x) => round(x, 2));
    for (const p of this.processes) {
      r.orphanFiles += orphanFiles(p.dataDir);
      const logText = readFileSync(path.join(p.dataDir, 'node.log'), 'utf8');
      r.maxListenersWarnings += logText.split('MaxListenersExceededWarning').length - 1;
    }
    for (const [name, list] of this.samples) {
      const half = list.filter((s) => s.t >= (list[list.length - 1]!.t + list[0]!.t) / 2);
      const restarted = this.restarted.has(name);
      const strip = ({ t: _t, ...rest }: Sample) => rest;
      // The last 20 (40) minutes, in a run of at least 25 (45): past the warm-up of caches and pools.
      const last = list[list.length - 1]!.t;
      const lastMinutes = (m: number) => (last - list[0]!.t >= (m + 5) * 60_000 ? list.filter((s) => s.t >= last - m * 60_000) : []);
      const last20 = lastMinutes(20);
      const last40 = lastMinutes(40);
      const first = list[0]!;
      const end = list[list.length - 1]!;
      const series = (key: 'heapMiB' | 'externalMiB') => half.flatMap((s) => (s[key] === null ? [] : [{ t: s.t, y: s[key] }]));
      r.processes.push({
        name,
        arm: this.options.armEnv && this.options.armProcesses?.includes(name) ? 'B' : 'A',
        restarted,
        cpuSeconds: restarted ? null : round(end.cpuSeconds - first.cpuSeconds, 1),
        minorFaults: restarted ? null : end.minorFaults - first.minorFaults,
        samples: list.length,
        start: strip(first),
        end: strip(end),
        rssMiBPerHour: restarted ? null : slopePerHour(half.map((s) => ({ t: s.t, y: s.rssMiB }))),
        rssMiBPerHourLast20Min: restarted || last20.length === 0 ? null : slopePerHour(last20.map((s) => ({ t: s.t, y: s.rssMiB }))),
        mallocHeapMiBPerHourLast20Min: restarted || last20.length === 0 ? null : slopePerHour(last20.map((s) => ({ t: s.t, y: s.mallocHeapMiB }))),
        rssMiBPerHourLast40Min: restarted || last40.length === 0 ? null : slopePerHour(last40.map((s) => ({ t: s.t, y: s.rssMiB }))),
        mallocHeapMiBPerHourLast40Min: restarted || last40.length === 0 ? null : slopePerHour(last40.map((s) => ({ t: s.t, y: s.mallocHeapMiB }))),
        anonMiBPerHour: restarted ? null : slopePerHour(half.map((s) => ({ t: s.t, y: s.anonMiB }))),
        mallocHeapMiBPerHour: restarted ? null : slopePerHour(half.map((s) => ({ t: s.t, y: s.mallocHeapMiB }))),
        // Resident memory other than the Buffers outside V8 (block cache, blocks in flight, bounded by design).
        rssLessExternalMiBPerHour: restarted ? null : slopePerHour(half.flatMap((s) => (s.externalMiB === null ? [] : [{ t: s.t, y: s.rssMiB - s.externalMiB }]))),
        heapMiBPerHour: restarted ? null : slopePerHour(series('heapMiB')),
        externalMiBPerHour: restarted ? null : slopePerHour(series('externalMiB')),
        fdsPerHour: restarted ? null : slopePerHour(half.map((s) => ({ t: s.t, y: s.fds }))),
        connectionsPerHour: restarted ? null : slopePerHour(half.map((s) => ({ t: s.t, y: s.sockets }))),
        fdsLessClientsPerHour: restarted ? null : slopePerHour(half.map((s) => ({ t: s.t, y: s.fds - s.clientSockets }))),
      });
    }
    return r;
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const hours = Number(option(args, 'hours', '0'));
  const minutes = hours > 0 ? hours * 60 : Number(option(args, 'minutes', '30'));
  // Nodes run as shipped (dist), not under tsx, whose loader adds its own memory and code.
  process.env.CANOPY_CLI ??= 'dist';
  // --node-preload LIB: an allocator (e.g. jemalloc) for the root and nodes only; this driver
  // (readers, checks) keeps its own, so two soaks compare the nodes at equal load.
  if (args.includes('--node-preload')) process.env.LD_PRELOAD = option(args, 'node-preload', '');
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-soak-'));
  const soak = new Soak({
    dir,
    durationMs: minutes * 60_000,
    nodes: Number(option(args, 'nodes', '4')),
    publishEveryMs: parseDuration(option(args, 'publish-every', '5s')),
    withdrawAfterMs: parseDuration(option(args, 'withdraw-after', '3m')),
    restartEveryMs: parseDuration(option(args, 'restart-every', '6m')),
    sampleEveryMs: parseDuration(option(args, 'sample-every', '30s')),
    minSize: 2 * 2 ** 20,
    maxSize: 8 * 2 ** 20,
    readers: 4,
    ...(args.includes('--heap-snapshots') ? { heapSnapshotDir: path.resolve(option(args, 'heap-snapshots', '.tmp/heap')), heapSnapshotsOf: option(args, 'heap-snapshots-of', 'root,node1').split(',') } : {}),
    ...(args.includes('--keep-root') ? { restartRoot: false } : {}),
    ...armOptions(args),
  });
  const load = loadavg().map((x) => round(x, 2));
  try {
    await soak.start();
    log(`soak: ${minutes} min, root and ${soak.network.nodes.length} nodes under ${dir}; load average ${load.join(' ')}`);
    await soak.run();
    const result = { loadavgAtStart: load, nodeRunsFrom: process.env.CANOPY_CLI === 'dist' ? 'dist' : 'tsx', malloc: mallocSettings(), ...(soak.options.armEnv ? { armB: { env: soak.options.armEnv, processes: soak.options.armProcesses } } : {}), ...(soak.options.heapSnapshotsOf ? { heapSnapshotsOf: soak.options.heapSnapshotsOf } : {}), ...(await soak.finish()) };
    // Every sample of every process, for slopes over other windows than the report's.
    if (args.includes('--samples')) writeFileSync(path.resolve(option(args, 'samples', '.tmp/soak-samples.json')), JSON.stringify(soak.allSamples()));
    return result;
  } finally {
    await soak.network.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * --arm-env 'K=V,K=V' [--arm-processes node2,node3]: those processes (default: the
 * even-numbered nodes) run with the settings added, the others without. `K=` (empty)
 * removes K instead: `--arm-env MALLOC_MMAP_THRESHOLD_=` runs that arm with glibc's own
 * dynamic threshold (an empty value would be a threshold of 0 to glibc).
 */
function armOptions(args: string[]): Pick<SoakOptions, 'armEnv' | 'armProcesses'> {
  if (!args.includes('--arm-env')) return {};
  const armEnv = Object.fromEntries(option(args, 'arm-env', '').split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1) || undefined]));
  const nodes = Number(option(args, 'nodes', '4'));
  const even = Array.from({ length: nodes }, (_, i) => `node${i + 1}`).filter((_, i) => i % 2 === 1);
  return { armEnv, armProcesses: args.includes('--arm-processes') ? option(args, 'arm-processes', '').split(',') : even };
}

/** The malloc settings (glibc tunables, a preloaded allocator) the nodes get (LocalNetwork's default, then this process's): they change RSS, not behaviour. */
function mallocSettings(): Record<string, string> {
  return { ...NODE_MALLOC_ENV, ...(Object.fromEntries(Object.entries(process.env).filter(([k]) => k === 'GLIBC_TUNABLES' || k === 'LD_PRELOAD' || k.startsWith('MALLOC_'))) as Record<string, string>) };
}
