/**
 * `npm run bench -- root-load [--members 10000]`: one leader root keeping up with many
 * members reporting progress every 2 s while 10 contents are published; the embedded
 * (SQLite) root against a root on PostgreSQL (test/helpers/postgres.ts), one after the other
 * in the same run (`--rounds N` alternates them N times).
 *
 * Members are simulated in this process over real connections (bench/_sim-members.ts): each
 * has its own key, a certificate issued by the root's CA and a root-signed attribute record,
 * its own mutual-TLS connection to the root's peer port, says hello, joins (the root answers
 * with the catalog sync) and sends `progress` reports, as a member's RootLink does. 10,000
 * TLS connections from one process fit this machine (2 cores, 24 GiB, 20,000 descriptors);
 * calling the root's intake in-process would have skipped the cost that grows with members
 * (TLS, framing, one connection each). Their credentials are minted with the CA key, not
 * enrolled with 10,000 join tokens: enrolment issues a certificate (~10 ms of CPU) and rewrites
 * the authority's whole state per member (issue 18's notes), a cost of its own, outside what
 * this bench measures. The CA and the members are kept in `--fixtures DIR` (default
 * .tmp/root-load-fixtures; `--prepare` only makes them) and both roots are roots of that one
 * CA, so they serve the same members. `--known-members on` (default) starts each root with
 * every member's record already in its trust file, as a root restarted under its members;
 * `off` is a root meeting them all for the first time (it rewrites its trust file, fsync
 * included, at every member's first hello: quadratic in the member count). What is not
 * simulated: a member's store, swarm and place in the control tree (these members join the
 * root only, so the root floods announcements to nobody; the tree's cost at the root is its
 * bounded fan-out, not the member count); members learn the published contents from this
 * driver, not from announcements.
 *
 * Whether the PostgreSQL root keeps its leader lease is the first figure (`lease.depositions`,
 * from its log, must be 0; `lateRenewals` counts renewal timer turns that fired >250 ms late),
 * with how long its event loop was held (`eventLoopStalls`, bench/_loop-stalls.mjs preloaded
 * into the root: longest stall at start, in the join phase and in the steady phase); both in
 * `summary`.
 * Figures per root, over the steady phase (publishes + reports): root CPU seconds, peak RSS
 * (VmHWM), p50/p99 of a publish (raw upload of `--size` through the admin API, acknowledged
 * once durable), of a progress report (a ping right behind the report on its connection,
 * answered once the root applied it) and of `GET /api/contents/:id/status` once after each
 * publish; PostgreSQL's CPU; the join phase (TLS + hello + join of every member). With
 * `--profile on` (default) both roots run under the sampling profiler (bench/_cpu-prof.mjs),
 * which gives the leader views writer's cost (root/state/leader-views.ts, PostgreSQL root only:
 * every 2 s each live content's status is recomputed, compared and rewritten when changed).
 * Options: --members 10000 --contents 10 --publish-every 6s --report-every 2s --download 6s
 * --size 4MiB --sample-every 10 --rounds 1 --profile on --roots sqlite,postgres
 * --known-members on --fixtures DIR --prepare --keep off
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../src/core/expiry.js';
import { LocalNetwork } from '../src/demo/local-network.js';
import { apiFetch } from '../test/helpers/api-fetch.js';
import { TestPostgres } from '../test/helpers/postgres.js';
import { loadAverage } from './_proc.js';
import { closeAll, fixtures, joinAll, seedRoot, startReports, type Fixtures, type SimContent } from './_sim-members.js';
import { latencySummary, log, option, peakRssKb, processTree, ProcessMeter, round, sizeOption } from './_util.js';
import { inclusiveMs, summarise } from './profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
  members: number;
  contents: number;
  publishEveryMs: number;
  reportEveryMs: number;
  downloadMs: number;
  size: number;
  sampleEvery: number;
  profile: boolean;
  /** The root already knows every member's record (a restarted root), or meets them all now. */
  knownMembers: boolean;
  keep: boolean;
}

type RootKind = 'sqlite' | 'postgres';

/** Starts the root (under the profiler if asked), on PostgreSQL or not. */
async function startRoot(kind: RootKind, dir: string, o: Options, f: Fixtures): Promise<{ net: LocalNetwork; db: TestPostgres | undefined; profDir: string; stallDir: string }> {
  const net = new LocalNetwork(path.join(dir, 'net'));
  // LocalNetwork keeps a node's data in <dir>/net/<name>.
  seedRoot(f, path.join(dir, 'net', 'root'), o.knownMembers);
  const db = kind === 'postgres' ? await TestPostgres.start() : undefined;
  const extra = ['--root'];
  if (db) {
    writeFileSync(path.join(dir, 'state.key'), randomBytes(32).toString('hex'));
    extra.push('--state', db.url(), '--state-key', path.join(dir, 'state.key'));
  }
  const profDir = path.join(dir, 'profile');
  const stallDir = path.join(dir, 'stalls');
  mkdirSync(profDir);
  mkdirSync(stallDir);
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, CANOPY_CPU_PROF_DIR: process.env.CANOPY_CPU_PROF_DIR, CANOPY_LOOP_STALL_DIR: process.env.CANOPY_LOOP_STALL_DIR };
  // Only the root's process is profiled and watched for event-loop stalls: the environment is set around its spawn.
  const preload = [path.join(here, '_loop-stalls.mjs'), ...(o.profile ? [path.join(here, '_cpu-prof.mjs')] : [])];
  Object.assign(process.env, { CANOPY_LOOP_STALL_DIR: stallDir, NODE_OPTIONS: [saved.NODE_OPTIONS ?? '', ...preload.map((p) => `--import=${p}`)].join(' ').trim() });
  if (o.profile) process.env.CANOPY_CPU_PROF_DIR = profDir;
  try {
    net.root = await net.spawnNode({ name: 'root', attrs: {} }, 0, extra);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return { net, db, profDir, stallDir };
}

/**
 * How long the root's event loop was held (bench/_loop-stalls.mjs): the longest stall over
 * its life, in the join phase and in the steady phase, and how many passed 250 ms / 1 s / 2 s
 * (the lease deadline is 2 s after a renewal's start, renewals every 0.5 s).
 */
function stallFigures(stallDir: string, phases: { joinFrom: number; steadyFrom: number; steadyTo: number }): Record<string, unknown> | undefined {
  const file = readdirSync(stallDir).find((f) => f.endsWith('.json'));
  if (!file) return undefined;
  const { stalls } = JSON.parse(readFileSync(path.join(stallDir, file), 'utf8')) as { stalls: [at: number, ms: number][] };
  const max = (from: number, to: number) => stalls.filter(([at]) => at >= from && at <= to).reduce((m, [, ms]) => Math.max(m, ms), 0);
  return {
    maxMs: max(0, Infinity),
    startMaxMs: max(0, phases.joinFrom),
    joinMaxMs: max(phases.joinFrom, phases.steadyFrom),
    steadyMaxMs: max(phases.steadyFrom, phases.steadyTo),
    over250ms: stalls.filter(([, ms]) => ms > 250).length,
    over1s: stalls.filter(([, ms]) => ms > 1000).length,
    over2s: stalls.filter(([, ms]) => ms > 2000).length,
    top: [...stalls].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([at, ms]) => ({ ms, secondsIntoSteady: round((at - phases.steadyFrom) / 1000, 1) })),
  };
}

/** What the root's log says about its lease: how often it was deposed, and its late or slow renewals. */
function leaseFigures(dataDir: string): { depositions: number; lateRenewals: number; slowRenewals: number; maxLateMs: number; minLeftMs: number | null } {
  const lines = readFileSync(path.join(dataDir, 'node.log'), 'utf8').split('\n');
  const parsed = lines.filter((l) => l.includes('"msg":"deposed"') || l.includes('"msg":"leader lease: ')).map((l) => JSON.parse(l) as { msg: string; ms?: number; leftMs?: number });
  const late = parsed.filter((l) => l.msg === 'leader lease: timer late');
  const slow = parsed.filter((l) => l.msg === 'leader lease: renewal slow');
  const left = [...late, ...slow].map((l) => l.leftMs ?? Infinity);
  return {
    depositions: parsed.filter((l) => l.msg === 'deposed').length,
    lateRenewals: late.length,
    slowRenewals: slow.length,
    maxLateMs: late.reduce((m, l) => Math.max(m, l.ms ?? 0), 0),
    minLeftMs: left.length > 0 ? Math.min(...left) : null,
  };
}

/** The postmaster's pid, to meter PostgreSQL (it and its backends). */
function postmasterPid(db: TestPostgres): number {
  return Number(readFileSync(path.join(db.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function publish(api: string, k: number, size: number): Promise<SimContent & { ms: number }> {
  const data = randomBytes(size);
  const t0 = performance.now();
  const res = await apiFetch(`${api}/api/contents?name=root-load-${k}&criteria=*`, { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } });
  const body = (await res.json()) as { contentId: string; blocks: number; size: number; message?: string };
  if (res.status !== 201) throw new Error(`publish ${k} failed: ${res.status} ${body.message ?? ''}`);
  return { contentId: body.contentId, blocks: body.blocks, size: body.size, startedAt: Date.now(), ms: performance.now() - t0 };
}

async function statusMs(api: string, contentId: string): Promise<number> {
  const t0 = performance.now();
  const res = await apiFetch(`${api}/api/contents/${contentId}/status`);
  await res.arrayBuffer();
  return performance.now() - t0;
}

/** What the leader wrote to `canopy_views` (PostgreSQL root only). */
async function viewFigures(db: TestPostgres): Promise<Record<string, number>> {
  const [rows] = await db.query<{ views: string; bytes: string; table_bytes: string }>("SELECT count(*) AS views, coalesce(sum(octet_length(view::text)), 0) AS bytes, pg_total_relation_size('canopy_views') AS table_bytes FROM canopy_views");
  const [stat] = await db.query<{ ins: string; upd: string }>("SELECT n_tup_ins AS ins, n_tup_upd AS upd FROM pg_stat_user_tables WHERE relname = 'canopy_views'");
  return { views: Number(rows?.views), viewBytes: Number(rows?.bytes), tableBytes: Number(rows?.table_bytes), rowsWritten: Number(stat?.ins ?? 0) + Number(stat?.upd ?? 0) };
}

/** Where the root's profiled time went: the views writer, statuses, attestation, and the top functions. */
function profileFigures(profDir: string): Record<string, unknown> | undefined {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return undefined;
  const full = path.join(profDir, file);
  const p = JSON.parse(readFileSync(full, 'utf8')) as { startTime: number; endTime: number };
  const seconds = (p.endTime - p.startTime) / 1e6;
  const summary = summarise(full, 8);
  const viewsMs = inclusiveMs(full, 'root/state/leader-views.');
  return {
    seconds: round(seconds, 1),
    busyMs: summary.busyMs,
    leaderViewsMs: viewsMs,
    leaderViewsMsPerRound: round(viewsMs / Math.max(1, seconds / 2), 1),
    contentStatusMs: inclusiveMs(full, 'root/content-status.'),
    peerTrustMs: inclusiveMs(full, 'security/peer-trust.'),
    rootPeerMessagesMs: inclusiveMs(full, 'root/root-peer-messages.'),
    top: summary.top.map((t) => `${t.percent}% ${t.function} ${t.where}`),
  };
}

/** The root's error lines (why it stopped), last few. */
function rootLogErrors(dataDir: string): string[] {
  return readFileSync(path.join(dataDir, 'node.log'), 'utf8')
    .split('\n')
    .filter((l) => /"level":"(error|fatal)"/.test(l))
    .slice(-3)
    .map((l) => l.slice(0, 400));
}

/** One publish every `publishEveryMs`, each followed by a status request; stops early if the root stopped. */
async function publishAll(kind: RootKind, api: string, o: Options, published: SimContent[], stopped: () => boolean): Promise<{ publishMs: number[]; statusTimes: number[] }> {
  const publishMs: number[] = [];
  const statusTimes: number[] = [];
  for (let k = 0; k < o.contents && !stopped(); k++) {
    const slot = performance.now() + o.publishEveryMs;
    try {
      const p = await publish(api, k, o.size);
      publishMs.push(p.ms);
      published.push(p);
      statusTimes.push(await statusMs(api, p.contentId));
      log(`${kind}: publish ${k} ${round(p.ms, 0)} ms, status ${round(statusTimes.at(-1)!, 0)} ms`);
    } catch (err) {
      // A root that is stopping closes its API before its process has exited.
      for (let i = 0; i < 50 && !stopped(); i++) await sleep(200);
      if (!stopped()) throw err;
    }
    await sleep(Math.max(0, slot - performance.now()));
  }
  return { publishMs, statusTimes };
}

async function oneRoot(kind: RootKind, o: Options, f: Fixtures): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), `canopy-bench-root-load-${kind}-`));
  const { net, db, profDir, stallDir } = await startRoot(kind, dir, o, f);
  const root = net.root!;
  const pid = root.process.pid!;
  const pgPid = db ? postmasterPid(db) : undefined;
  const rootMeter = () => new ProcessMeter(() => [pid]).start();
  const pgMeter = () => new ProcessMeter(() => (pgPid ? processTree(pgPid) : [])).start();
  const { members, ca } = f;
  // A root may stop under the load (a leader whose event loop stalls past its lease deadline
  // deposes itself): the run then reports what it measured until then, and why it stopped.
  let exited: { code: number | null; signal: string | null; at: number } | undefined;
  root.process.once('exit', (code, signal) => (exited = { code, signal, at: performance.now() }));
  try {
    const t0 = performance.now();
    const joinFrom = Date.now();
    let rm = rootMeter();
    let pm = pgMeter();
    const joined = await joinAll(members, root.peer, ca.certPem);
    const join = { seconds: round((performance.now() - t0) / 1000, 1), joined: joined.joinMs.length, failed: joined.failed, rootCpuSeconds: round(rm.stop().cpuSeconds, 2), postgresCpuSeconds: db ? round(pm.stop().cpuSeconds, 2) : undefined, joinMs: latencySummary(joined.joinMs) };
    log(`${kind}: ${join.joined} joined (${join.failed} failed) in ${join.seconds} s, root CPU ${join.rootCpuSeconds} s; load ${loadAverage()}`);

    const published: SimContent[] = [];
    const loadAtStart = loadAverage();
    const steadyStart = performance.now();
    const steadyFrom = Date.now();
    rm = rootMeter();
    pm = pgMeter();
    const reports = startReports(members, () => published, { everyMs: o.reportEveryMs, downloadMs: o.downloadMs, sampleEvery: o.sampleEvery });
    // Reports on nothing for one period first: the root's cost of members that are only connected.
    await sleep(o.reportEveryMs);
    const { publishMs, statusTimes } = await publishAll(kind, root.api, o, published, () => exited !== undefined);
    if (!exited) await sleep(o.downloadMs + o.reportEveryMs);
    // VmHWM while the root runs; the meter's samples (every 100 ms) if it has stopped.
    const hwm = exited ? 0 : peakRssKb(pid) / 1024;
    const r = await reports.stop();
    // Before the root is stopped here (its exit then is ours).
    const early = exited;
    const steadySeconds = ((early?.at ?? performance.now()) - steadyStart) / 1000;
    const rootMeterReport = rm.stop();
    const rootCpu = rootMeterReport.cpuSeconds;
    const pgCpu = db ? pm.stop().cpuSeconds : undefined;
    const peakRssMiB = round(Math.max(hwm, rootMeterReport.peakRssBytes / 2 ** 20), 1);
    const views = db ? await viewFigures(db) : undefined;
    const steadyTo = Date.now();
    closeAll(members);
    await net.stop();
    const profile = profileFigures(profDir);
    const stalls = stallFigures(stallDir, { joinFrom, steadyFrom, steadyTo });
    const lease = db ? leaseFigures(root.dataDir) : undefined;
    return {
      root: kind,
      join,
      steadySeconds: round(steadySeconds, 1),
      rootCpuSeconds: round(rootCpu, 2),
      rootCpuPerSecond: round(rootCpu / steadySeconds, 3),
      postgresCpuSeconds: pgCpu === undefined ? undefined : round(pgCpu, 2),
      peakRssMiB,
      publishMs: latencySummary(publishMs),
      progressMs: latencySummary(r.latencyMs),
      statusMs: latencySummary(statusTimes),
      reports: r.reports,
      reportsPerSecond: round(r.reports / steadySeconds, 0),
      failedReports: r.failed,
      lease,
      eventLoopStalls: stalls,
      views,
      rootExited: early ? { code: early.code, signal: early.signal, afterSteadySeconds: round((early.at - steadyStart) / 1000, 1), log: rootLogErrors(root.dataDir) } : undefined,
      profile,
      loadavg: { start: loadAtStart, end: loadAverage() },
    };
  } finally {
    closeAll(members);
    await net.stop();
    await db?.stop();
    // `--keep on`: the root's data dir, log, profile and stall record stay for a look (the path is logged).
    if (o.keep) log(`${kind}: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? round(a / b, 2) : undefined);

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const o: Options = {
    members: Number(option(args, 'members', '10000')),
    contents: Number(option(args, 'contents', '10')),
    publishEveryMs: parseDuration(option(args, 'publish-every', '6s')),
    reportEveryMs: parseDuration(option(args, 'report-every', '2s')),
    downloadMs: parseDuration(option(args, 'download', '6s')),
    size: sizeOption(args, 'size', '4MiB'),
    sampleEvery: Number(option(args, 'sample-every', '10')),
    profile: option(args, 'profile', 'on') !== 'off',
    knownMembers: option(args, 'known-members', 'on') !== 'off',
    keep: option(args, 'keep', 'off') === 'on',
  };
  const t0 = performance.now();
  const f = await fixtures(path.resolve(option(args, 'fixtures', path.join(here, '..', '.tmp', 'root-load-fixtures'))), o.members, (i) => ({ region: i % 2 === 0 ? 'eu' : 'us' }));
  log(`fixtures: ${f.members.length} members ready in ${round((performance.now() - t0) / 1000, 1)} s`);
  if (args.includes('--prepare')) return { prepared: f.members.length };
  const rounds = Number(option(args, 'rounds', '1'));
  const kinds = option(args, 'roots', 'sqlite,postgres').split(',') as RootKind[];
  process.env.CANOPY_READY_TIMEOUT_MS ??= '120000';
  // The root as shipped (tsx alone adds memory and start-up CPU to a node).
  process.env.CANOPY_CLI ??= 'dist';
  const runs: Record<string, unknown>[] = [];
  for (let i = 0; i < rounds; i++) for (const kind of kinds) runs.push(await oneRoot(kind, o, f));
  const first = (kind: RootKind) => runs.find((r) => r.root === kind) as Record<string, { p99?: number }> & { rootCpuSeconds?: number; peakRssMiB?: number } | undefined;
  const s = first('sqlite');
  const p = first('postgres');
  return {
    members: o.members,
    contents: o.contents,
    size: o.size,
    reportEverySeconds: o.reportEveryMs / 1000,
    knownMembers: o.knownMembers,
    nodeRunsFrom: process.env.CANOPY_CLI === 'dist' ? 'dist' : 'tsx',
    runs,
    // The questions of issue 18 at a glance: does the PostgreSQL leader keep its lease, how long was the loop held, at what cost.
    summary: runs.map((r) => {
      const x = r as { root: string; join: { seconds: number }; rootCpuSeconds: number; peakRssMiB: number; lease?: { depositions: number }; rootExited?: unknown; eventLoopStalls?: { maxMs: number; steadyMaxMs: number; joinMaxMs: number } };
      return { root: x.root, depositions: x.lease?.depositions, rootExited: x.rootExited !== undefined, joinSeconds: x.join.seconds, maxStallMs: x.eventLoopStalls?.maxMs, joinMaxStallMs: x.eventLoopStalls?.joinMaxMs, steadyMaxStallMs: x.eventLoopStalls?.steadyMaxMs, steadyRootCpuSeconds: x.rootCpuSeconds, peakRssMiB: x.peakRssMiB };
    }),
    postgresToSqlite: s && p ? { rootCpu: ratio(p.rootCpuSeconds, s.rootCpuSeconds), peakRss: ratio(p.peakRssMiB, s.peakRssMiB), publishP99: ratio(p.publishMs?.p99, s.publishMs?.p99), progressP99: ratio(p.progressMs?.p99, s.progressMs?.p99), statusP99: ratio(p.statusMs?.p99, s.statusMs?.p99) } : undefined,
    note: 'members simulated in the bench process over real mutual-TLS connections (one each); root CPU and latencies over the steady phase; both roots under the sampling profiler unless --profile off',
  };
}
