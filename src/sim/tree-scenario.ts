/**
 * The scenario behind `canopy sim tree`: N nodes join (all within the first two simulated
 * seconds), one announcement is flooded, messages are routed to criteria matching about
 * 0.1 %, 1 % and 10 % of the nodes, then a second announcement is flooded while 5 % of the
 * interior nodes are killed, and the tree repairs itself. Returns the figures as one object.
 */
import { matches, parseCriteria } from '../core/criteria.js';
import { SimTree, type SimNode } from './sim-tree.js';

export interface TreeScenarioOptions {
  nodes: number;
  seed: number;
  loss: number;
  fanout: number;
  joinWindowMs: number;
  killFraction: number;
}

export const DEFAULT_SCENARIO: TreeScenarioOptions = { nodes: 1000, seed: 1, loss: 0, fanout: 16, joinWindowMs: 2000, killFraction: 0.05 };

export interface RoutingFigures {
  criteria: string;
  matching: number;
  delivered: number;
  deliveredToUnqualified: number;
  visited: number;
  counted: number;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export function runTreeScenario(input: Partial<TreeScenarioOptions> = {}): Record<string, unknown> {
  const o = { ...DEFAULT_SCENARIO, ...input };
  const wall = process.hrtime.bigint();
  const sim = new SimTree({ nodes: o.nodes, seed: o.seed, loss: o.loss, tickMs: 250, probeTimeoutMs: 1000, tree: { fanout: o.fanout } });
  const live = () => sim.nodes.filter((n) => n.alive);
  const phases: Record<string, number> = {};
  let phaseStart = process.hrtime.bigint();
  const phase = (name: string) => {
    const t = process.hrtime.bigint();
    phases[name] = round(Number(t - phaseStart) / 1e9);
    phaseStart = t;
  };
  const runUntil = (done: () => boolean, maxMs: number, stepMs = 50): number | null => {
    const end = sim.q.now + maxMs;
    while (sim.q.now < end) {
      if (done()) return sim.q.now;
      sim.q.run(sim.q.now + stepMs);
    }
    return done() ? sim.q.now : null;
  };

  // Join.
  sim.start(sim.root, 0);
  for (const n of sim.nodes.slice(1)) sim.start(n, 1 + sim.rand() * o.joinWindowMs);
  const joined = runUntil(() => sim.nodes.every((n) => n.placedAt !== undefined), 120_000, 100);
  const depth = Math.max(...sim.nodes.map((n) => n.core.depth));
  sim.q.run(sim.q.now + 1500); // let rollups settle (they ride on batched updates and heartbeats)
  phase('join');

  // Flood with every node alive.
  const delivered = new Map<string, SimNode[]>();
  sim.hooks.deliver = (node, a) => {
    let list = delivered.get(a.id);
    if (!list) delivered.set(a.id, (list = []));
    list.push(node);
  };
  const floodsBefore = sim.byKind.flood ?? 0;
  const origin = pick(sim, live());
  const t0 = sim.q.now;
  sim.handle(origin, { type: 'flood', now: t0, id: 'flood-1', payload: { contentId: 'c1' } });
  const floodDone = runUntil(() => live().every((n) => n.core.flood.has('flood-1')), 30_000, 10);
  sim.q.run(sim.q.now + 500);
  const floodMessages = (sim.byKind.flood ?? 0) - floodsBefore;
  // The busiest node's share of the flood (a star, root to every node, would be N - 1).
  const maxFloodSendsPerNode = Math.max(...sim.nodes.map((n) => n.core.flood.stats.sent));

  phase('flood');

  // Targeted messages and counts.
  const sample = pick(sim, live());
  const routing: Record<string, RoutingFigures> = {};
  const targets: [string, string][] = [
    ['0.1%', `dc=${sample.place.attrs.dc}`],
    ['1%', `metro=${sample.place.attrs.metro}`],
    ['10%', `region=${sample.place.attrs.region}`],
  ];
  let counted = -1;
  sim.hooks.counted = (_node, a) => (counted = a.matching);
  for (const [label, text] of targets) {
    const criteria = parseCriteria(text);
    const handledBefore = sumHandled(sim);
    const from = pick(sim, live());
    const id = `route-${label}`;
    counted = -1;
    sim.handle(from, { type: 'send-qualified', now: sim.q.now, id, criteria: text, payload: null });
    sim.handle(sim.root, { type: 'count', now: sim.q.now, qid: `count-${label}`, criteria: text });
    sim.q.run(sim.q.now + 1000);
    const got = delivered.get(id) ?? [];
    routing[label] = {
      criteria: text,
      matching: live().filter((n) => matches(criteria, n.place.attrs, n.ref.id)).length,
      delivered: new Set(got).size,
      deliveredToUnqualified: got.filter((n) => !matches(criteria, n.place.attrs, n.ref.id)).length,
      visited: sumHandled(sim) - handledBefore,
      counted,
    };
  }

  phase('routing');

  // Flood again and kill interior nodes while it spreads.
  const origin2 = pick(sim, live());
  const interior = live().filter((n) => n !== sim.root && n !== origin2 && n.core.children.length > 0);
  shuffle(interior, sim.rand);
  const victims = interior.slice(0, Math.ceil(interior.length * o.killFraction));
  sim.handle(origin2, { type: 'flood', now: sim.q.now, id: 'flood-2', payload: { contentId: 'c2' } });
  sim.q.run(sim.q.now + 20);
  const killedAt = sim.q.now;
  for (const v of victims) sim.kill(v);
  const intact = () => live().every((n) => n === sim.root || (n.core.attached && sim.node(n.core.parentRef!.id).alive && sim.node(n.core.parentRef!.id).core.hasChild(n.ref.id)));
  const repaired = runUntil(intact, 60_000, 100);
  const reachedAll = runUntil(() => live().every((n) => n.core.flood.has('flood-2')), 30_000, 100);
  const alive = live();
  phase('repair');

  return {
    nodes: o.nodes,
    seed: o.seed,
    fanout: o.fanout,
    loss: o.loss,
    depth,
    joinSeconds: joined === null ? null : round(joined / 1000),
    live: o.nodes,
    floodMessages,
    maxFloodSendsPerNode,
    floodReached: sim.nodes.filter((n) => n.core.flood.has('flood-1')).length,
    floodSeconds: floodDone === null ? null : round((floodDone - t0) / 1000),
    originEchoes: origin.core.flood.stats.originEchoes,
    routing,
    killed: victims.length,
    liveAfterKill: alive.length,
    repairSeconds: repaired === null ? null : round((repaired - killedAt) / 1000),
    floodReachedAfterKill: alive.filter((n) => n.core.flood.has('flood-2')).length,
    floodCompleteAfterKillSeconds: reachedAll === null ? null : round((reachedAll - killedAt) / 1000),
    originEchoesAfterKill: origin2.core.flood.stats.originEchoes,
    messages: sim.messages,
    probes: sim.probes,
    messagesByKind: sim.byKind,
    simulatedSeconds: round(sim.q.now / 1000),
    wallSecondsByPhase: phases,
    wallSeconds: round(Number(process.hrtime.bigint() - wall) / 1e9),
  };
}

function pick(sim: SimTree, from: SimNode[]): SimNode {
  return from[Math.floor(sim.rand() * from.length)]!;
}

function shuffle<T>(a: T[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

function sumHandled(sim: SimTree): number {
  let s = 0;
  for (const n of sim.nodes) s += n.core.router.handled;
  return s;
}
