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
  const wall = process.hrtime.bigint();
  const s = new Scenario({ ...DEFAULT_SCENARIO, ...input });
  const figures = { ...s.join(), ...s.flood(), routing: s.routing(), ...s.killDuringFlood() };
  const { sim, options: o } = s;
  return {
    nodes: o.nodes,
    seed: o.seed,
    fanout: o.fanout,
    loss: o.loss,
    ...figures,
    messages: sim.messages,
    probes: sim.probes,
    messagesByKind: sim.byKind,
    simulatedSeconds: round(sim.q.now / 1000),
    wallSecondsByPhase: s.phases,
    wallSeconds: round(Number(process.hrtime.bigint() - wall) / 1e9),
  };
}

/** One run, phase by phase; the random draws happen in a fixed order so a seed reproduces a run. */
class Scenario {
  readonly sim: SimTree;
  readonly phases: Record<string, number> = {};
  private phaseStart = process.hrtime.bigint();
  private readonly delivered = new Map<string, SimNode[]>();

  constructor(readonly options: TreeScenarioOptions) {
    this.sim = new SimTree({ nodes: options.nodes, seed: options.seed, loss: options.loss, tickMs: 250, probeTimeoutMs: 1000, tree: { fanout: options.fanout } });
    this.sim.hooks.deliver = (node, a) => {
      let list = this.delivered.get(a.id);
      if (!list) this.delivered.set(a.id, (list = []));
      list.push(node);
    };
  }

  /** Every node arrives within the join window; done when all are placed. */
  join() {
    const { sim } = this;
    sim.start(sim.root, 0);
    for (const n of sim.nodes.slice(1)) sim.start(n, 1 + sim.rand() * this.options.joinWindowMs);
    const joined = this.runUntil(() => sim.nodes.every((n) => n.placedAt !== undefined), 120_000, 100);
    const depth = Math.max(...sim.nodes.map((n) => n.core.depth));
    sim.q.run(sim.q.now + 1500); // let rollups settle (they ride on batched updates and heartbeats)
    this.phase('join');
    return { depth, joinSeconds: joined === null ? null : round(joined / 1000), live: this.options.nodes };
  }

  /** One announcement from a random node with every node alive. */
  flood() {
    const { sim } = this;
    const floodsBefore = sim.byKind.flood ?? 0;
    const origin = this.pick();
    const t0 = sim.q.now;
    sim.handle(origin, { type: 'flood', now: t0, id: 'flood-1', payload: { contentId: 'c1' } });
    const done = this.runUntil(() => this.live().every((n) => n.core.flood.has('flood-1')), 30_000, 10);
    sim.q.run(sim.q.now + 500);
    const figures = {
      floodMessages: (sim.byKind.flood ?? 0) - floodsBefore,
      // The busiest node's share of the flood (a star, root to every node, would be N - 1).
      maxFloodSendsPerNode: Math.max(...sim.nodes.map((n) => n.core.flood.stats.sent)),
      floodReached: sim.nodes.filter((n) => n.core.flood.has('flood-1')).length,
      floodSeconds: done === null ? null : round((done - t0) / 1000),
      originEchoes: origin.core.flood.stats.originEchoes,
    };
    this.phase('flood');
    return figures;
  }

  /** Targeted messages (from random nodes) and counts (from the root) at about 0.1, 1 and 10 %. */
  routing(): Record<string, RoutingFigures> {
    const { sim } = this;
    const sample = this.pick();
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
      const from = this.pick();
      const id = `route-${label}`;
      counted = -1;
      sim.handle(from, { type: 'send-qualified', now: sim.q.now, id, criteria: text, payload: null });
      sim.handle(sim.root, { type: 'count', now: sim.q.now, qid: `count-${label}`, criteria: text });
      sim.q.run(sim.q.now + 1000);
      const got = this.delivered.get(id) ?? [];
      routing[label] = {
        criteria: text,
        matching: this.live().filter((n) => matches(criteria, n.place.attrs, n.ref.id)).length,
        delivered: new Set(got).size,
        deliveredToUnqualified: got.filter((n) => !matches(criteria, n.place.attrs, n.ref.id)).length,
        visited: sumHandled(sim) - handledBefore,
        counted,
      };
    }
    this.phase('routing');
    return routing;
  }

  /** A second flood; 20 ms in, a share of the interior nodes die; the tree repairs itself. */
  killDuringFlood() {
    const { sim } = this;
    const origin = this.pick();
    const interior = this.live().filter((n) => n !== sim.root && n !== origin && n.core.children.length > 0);
    shuffle(interior, sim.rand);
    const victims = interior.slice(0, Math.ceil(interior.length * this.options.killFraction));
    sim.handle(origin, { type: 'flood', now: sim.q.now, id: 'flood-2', payload: { contentId: 'c2' } });
    sim.q.run(sim.q.now + 20);
    const killedAt = sim.q.now;
    for (const v of victims) sim.kill(v);
    const parentOf = (n: SimNode) => sim.node(n.core.parentRef!.id);
    const intact = () => this.live().every((n) => n === sim.root || (n.core.attached && parentOf(n).alive && parentOf(n).core.hasChild(n.ref.id)));
    const repaired = this.runUntil(intact, 60_000, 100);
    const reachedAll = this.runUntil(() => this.live().every((n) => n.core.flood.has('flood-2')), 30_000, 100);
    const alive = this.live();
    this.phase('repair');
    return {
      killed: victims.length,
      liveAfterKill: alive.length,
      repairSeconds: repaired === null ? null : round((repaired - killedAt) / 1000),
      floodReachedAfterKill: alive.filter((n) => n.core.flood.has('flood-2')).length,
      floodCompleteAfterKillSeconds: reachedAll === null ? null : round((reachedAll - killedAt) / 1000),
      originEchoesAfterKill: origin.core.flood.stats.originEchoes,
    };
  }

  private live(): SimNode[] {
    return this.sim.nodes.filter((n) => n.alive);
  }

  private pick(): SimNode {
    const from = this.live();
    return from[Math.floor(this.sim.rand() * from.length)]!;
  }

  /** Runs in steps until `done` holds; returns the simulated time then, or null after `maxMs`. */
  private runUntil(done: () => boolean, maxMs: number, stepMs: number): number | null {
    const q = this.sim.q;
    const end = q.now + maxMs;
    while (q.now < end) {
      if (done()) return q.now;
      q.run(q.now + stepMs);
    }
    return done() ? q.now : null;
  }

  private phase(name: string): void {
    const t = process.hrtime.bigint();
    this.phases[name] = round(Number(t - this.phaseStart) / 1e9);
    this.phaseStart = t;
  }
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
