/**
 * The swarm at fleet scale in simulation: `canopy sim swarm` (the real scheduler, in a
 * worker) at 1,000 and 10,000 nodes by default, each against the fluid bound T*. The
 * baseline in the same run is the bound itself and the star (the origin sends every node
 * the whole content: T = N·F/u₀), side by side.
 *   npm run bench -- sim-swarm [--nodes 1000,10000] [--size 256MiB] [--rate 100mbit] [--tick 250] [--seed S]
 */
import { parseRate, parseSize } from '../src/core/sizes.js';
import { runSwarmScenarioInWorker } from '../src/sim/tree-worker.js';
import { log, option, round } from './_util.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const counts = option(args, 'nodes', '1000,10000').split(',').map(Number);
  const size = parseSize(option(args, 'size', '256MiB'));
  const blockSize = parseSize(option(args, 'block-size', '4MiB'));
  const rate = parseRate(option(args, 'rate', '100mbit'));
  const seed = Number(option(args, 'seed', '1'));
  const tickMs = Number(option(args, 'tick', '250'));
  const runs: Record<string, unknown>[] = [];
  for (const nodes of counts) {
    log(`simulating ${nodes} nodes, ${size} bytes at ${rate} B/s (seed ${seed}); wall time is noisy on a shared machine`);
    const r = await runSwarmScenarioInWorker({ nodes, size, blockSize, rate, seed, tickMs });
    runs.push({ ...r, baselineStarSeconds: round((nodes * size) / rate), ratioVsStar: round((r.T as number) / ((nodes * size) / rate), 4) });
  }
  return { runs };
}
