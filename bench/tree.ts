/**
 * The control tree at scale: `canopy sim tree` (same code path, in a worker) at 100,000
 * nodes by default. Baseline, side by side: a star, where the root sends each announcement
 * to every node itself (what the walking skeleton did): N - 1 sends from one node, against
 * the tree's busiest node.
 *   npm run bench -- tree [--nodes N] [--seed S] [--loss P]
 */
import { runTreeScenarioInWorker } from '../src/sim/tree-worker.js';
import { log, option, round } from './_util.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const nodes = Number(option(args, 'nodes', '100000'));
  const seed = Number(option(args, 'seed', '1'));
  const loss = Number(option(args, 'loss', '0'));
  log(`simulating ${nodes} nodes (seed ${seed}, loss ${loss}); the machine may be shared, so wall time is noisy`);
  const r = (await runTreeScenarioInWorker({ nodes, seed, loss })) as Record<string, number> & { routing: Record<string, { delivered: number; visited: number }> };
  const onePercent = r.routing['1%']!;
  return {
    ...r,
    floodMessagesPerNode: round(r.floodMessages! / nodes),
    visitedPerDeliveredAt1pct: round(onePercent.visited / Math.max(1, onePercent.delivered)),
    baseline: { kind: 'star: root sends every announcement to every node', busiestNodeSends: nodes - 1 },
    busiestNodeSendsRatio: round(r.maxFloodSendsPerNode! / (nodes - 1), 6),
  };
}
