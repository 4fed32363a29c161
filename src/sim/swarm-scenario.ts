/**
 * `canopy sim swarm`: an origin and N downloaders, each with an upload and a download rate
 * (K of them at a quarter rate), placed by the simulator's geography (or all in one data
 * centre), each connected to a bounded set of neighbours; the origin serves a bounded set
 * of them. Runs `SwarmSim` and reports the figures the netns bench reports: T against the
 * fluid bound T*, origin egress per content size, bytes received per byte kept, and what
 * each node spends on control messages per second.
 */
import { MAX_WAITING, UPLOAD_SLOTS } from '../swarm/upload-limiter.js';
import { Geography, rng, type Place } from './geography.js';
import { SwarmSim, TICK_MS, type SimHostSpec } from './swarm-sim.js';
import { SwarmTrace } from './swarm-trace.js';

export interface SwarmScenarioOptions {
  /** Downloaders (the origin is one more host). */
  nodes: number;
  size: number;
  blockSize: number;
  /** Upload and download rate of every host, bytes per second. */
  rate: number;
  /** Downloaders at a quarter of the rate. */
  slow: number;
  /** Neighbours per downloader; every downloader sees every other when nodes <= degree. */
  degree: number;
  /** Downloaders the origin serves. */
  originDegree: number;
  /** `lan`: every host in one data centre (as the netns bench); `world`: the simulator's geography. */
  placement: 'lan' | 'world';
  seed: number;
  /** Blocks a host sends at once. */
  uploadSlots: number;
  /** Requests an uploader queues beyond its slots before it answers busy. */
  maxWaiting: number;
  /** Period of each node's scheduler tick (the node's is 250 ms). */
  tickMs: number;
  /** Give up after this much simulated time. */
  maxSeconds: number;
  /** Cut-through relay of blocks still arriving (as the node does). */
  relay: boolean;
  /** Upload slots weighed by each downloader's drain pace (as the node does); false: a fixed count. */
  shareSlots: boolean;
  /** The origin declines first copies to slow drains (as the node does, first-copy.ts). */
  firstCopyRule: boolean;
  /** Add `trace`: per second, the links in use and the hosts idle (swarm-trace.ts). */
  trace: boolean;
}

export const SWARM_SCENARIO_DEFAULTS: SwarmScenarioOptions = {
  nodes: 1000,
  size: 256 * 2 ** 20,
  blockSize: 4 * 2 ** 20,
  rate: 12.5e6,
  slow: 0,
  degree: 32,
  originDegree: 32,
  placement: 'world',
  seed: 1,
  uploadSlots: UPLOAD_SLOTS,
  maxWaiting: MAX_WAITING,
  tickMs: TICK_MS,
  maxSeconds: 3600,
  relay: true,
  shareSlots: true,
  firstCopyRule: true,
  trace: false,
};

export function buildSwarm(o: SwarmScenarioOptions): { specs: SimHostSpec[]; originMembers: number[]; random: () => number } {
  const random = rng(o.seed);
  const geo = new Geography(random);
  const dc: Place = { x: 0, y: 0, attrs: {} };
  const hosts = o.nodes + 1;
  const specs: SimHostSpec[] = Array.from({ length: hosts }, (_, i) => {
    const slow = i > 0 && i <= o.slow;
    return { up: slow ? o.rate / 4 : o.rate, down: slow ? o.rate / 4 : o.rate, place: o.placement === 'lan' ? dc : geo.place(), neighbours: [] };
  });
  const link = (a: number, b: number) => {
    if (a === b || specs[a]!.neighbours.includes(b)) return;
    specs[a]!.neighbours.push(b);
    specs[b]!.neighbours.push(a);
  };
  const originMembers = pick(o.nodes, Math.min(o.nodes, o.originDegree), random).map((i) => i + 1);
  for (const m of originMembers) link(0, m);
  // The origin's downloaders see each other (the root lists them as the swarm's members), so
  // a block the origin sent to one is seen at once by the others, who then ask that one.
  for (const a of originMembers) for (const b of originMembers) link(a, b);
  if (o.nodes <= o.degree) {
    for (let a = 1; a < hosts; a++) for (let b = a + 1; b < hosts; b++) link(a, b);
  } else {
    // A random graph of about `degree` neighbours each: each node opens half, the others open the rest.
    for (let a = 1; a < hosts; a++) for (const b of pick(o.nodes, o.degree / 2, random)) link(a, b + 1);
  }
  return { specs, originMembers, random };
}

/** `k` distinct integers from 0..n-1. */
function pick(n: number, k: number, random: () => number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(k, n)) out.add(Math.floor(random() * n));
  return [...out];
}

export function runSwarmScenario(partial: Partial<SwarmScenarioOptions> = {}): Record<string, unknown> {
  const o = { ...SWARM_SCENARIO_DEFAULTS, ...partial };
  const wall = performance.now();
  const { specs, originMembers, random } = buildSwarm(o);
  const sim = new SwarmSim(specs, o.size, o.blockSize, originMembers, random, o.uploadSlots, o.maxWaiting, o.tickMs, o.relay, o.shareSlots, o.firstCopyRule);
  const trace = o.trace ? new SwarmTrace(sim) : undefined;
  trace?.start();
  sim.run(o.maxSeconds * 1000);
  trace?.finish();
  const F = o.size;
  const downloaders = sim.nodes.slice(1);
  const done = downloaders.map((n) => n.doneAt).filter((t): t is number => t !== undefined);
  const T = done.length === downloaders.length ? Math.max(...done) / 1000 : Infinity;
  const sumUp = specs.slice(1).reduce((s, h) => s + h.up, 0);
  const Tstar = Math.max(F / specs[0]!.up, F / Math.min(...specs.slice(1).map((h) => h.down)), (o.nodes * F) / (specs[0]!.up + sumUp));
  const received = downloaders.reduce((s, n) => s + n.received, 0);
  const kept = downloaders.reduce((s, n) => s + n.kept, 0);
  const msgRates = downloaders.map((n) => n.messages / ((n.doneAt ?? sim.q.now) / 1000)).sort((a, b) => a - b);
  const times = [...done].sort((a, b) => a - b).map((t) => t / 1000);
  // Each node's own bound (as the bench's `perNodeBound`): the swarm's shared limits or its own download.
  const own = (n: (typeof downloaders)[number]) => (n.doneAt ?? Infinity) / 1000 / Math.max(F / specs[0]!.up, F / specs[n.id]!.down, (o.nodes * F) / (specs[0]!.up + sumUp));
  const slowOwn = downloaders.slice(0, o.slow).map(own);
  const fastOwn = downloaders.slice(o.slow).map(own);
  const stats = downloaders.reduce((s, n) => ({ requests: s.requests + n.sched!.stats.requests, copies: s.copies + n.sched!.stats.copies, stalled: s.stalled + n.sched!.stats.stalled }), { requests: 0, copies: 0, stalled: 0 });
  return {
    nodes: o.nodes,
    sizeBytes: F,
    blocks: sim.blocks,
    blockSize: o.blockSize,
    rateBytesPerSecond: o.rate,
    slow: o.slow,
    degree: o.degree,
    originDegree: o.originDegree,
    placement: o.placement,
    tickMs: o.tickMs,
    relay: o.relay,
    seed: o.seed,
    completed: done.length,
    T: round(T),
    Tstar: round(Tstar),
    ratio: round(T / Tstar),
    completionSeconds: { min: times[0] ?? null, median: times[Math.floor(times.length / 2)] ?? null, max: times.at(-1) ?? null },
    slowWorstOwnRatio: slowOwn.length ? round(Math.max(...slowOwn)) : null,
    fastWorstOwnRatio: fastOwn.length ? round(Math.max(...fastOwn)) : null,
    originEgressRatio: round(sim.links.hosts[0]!.uploaded / F),
    receivedPerKept: round(received / Math.max(1, kept)),
    messagesPerNodePerSecond: { median: round(msgRates[Math.floor(msgRates.length / 2)]!), max: round(msgRates.at(-1)!) },
    requests: stats.requests,
    copies: stats.copies,
    stalledRequests: stats.stalled,
    simulatedSeconds: round(sim.q.now / 1000),
    wallSeconds: round((performance.now() - wall) / 1000),
    ...(trace ? { trace: trace.rows } : {}),
  };
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
