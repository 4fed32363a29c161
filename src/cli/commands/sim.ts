import type { Command } from 'commander';
import { CanopyError } from '../../core/errors.js';
import { runTreeScenarioInWorker } from '../../sim/tree-worker.js';
import { action, printJson } from '../output.js';

interface SimTreeOptions {
  nodes: string;
  seed: string;
  loss: string;
  fanout: string;
  json?: boolean;
}

function int(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new CanopyError('ERR_USAGE', `--${name}: "${text}" must be an integer from ${min} to ${max}`);
  return n;
}

export function registerSim(program: Command): void {
  const sim = program.command('sim').description('simulate Canopy at scale over the same cores the nodes run');
  sim
    .command('tree')
    .description('N nodes join the control tree; flood, targeted routing at 0.1/1/10 %, and repair after killing 5 % of interior nodes')
    .option('--nodes <n>', 'number of nodes, root included', '1000')
    .option('--seed <n>', 'random seed (same seed, same run)', '1')
    .option('--loss <p>', 'probability that a message is lost', '0')
    .option('--fanout <n>', 'most children per node', '16')
    .option('--json', 'print one JSON line')
    .action(
      action(async (opts: SimTreeOptions) => {
        const loss = Number(opts.loss);
        if (!(loss >= 0 && loss < 0.5)) throw new CanopyError('ERR_USAGE', `--loss: "${opts.loss}" must be a probability below 0.5`);
        const result = await runTreeScenarioInWorker({ nodes: int('nodes', opts.nodes, 2, 1_000_000), seed: int('seed', opts.seed, 0, 2 ** 31), loss, fanout: int('fanout', opts.fanout, 2, 1024) });
        if (opts.json) return printJson(result);
        const r = result as Record<string, number> & { routing: Record<string, Record<string, number | string>> };
        const lines = [
          `${r.nodes} nodes, fan-out ${r.fanout}: tree depth ${r.depth}, all placed after ${r.joinSeconds} s (simulated)`,
          `flood: reached ${r.floodReached} of ${r.live} with ${r.floodMessages} messages in ${r.floodSeconds} s; origin echoes ${r.originEchoes}`,
          ...Object.entries(r.routing).map(([label, x]) => `route ${label.padEnd(4)} ${String(x.criteria).padEnd(12)} matching ${x.matching}, delivered ${x.delivered}, visited ${x.visited}, counted ${x.counted}`),
          `killed ${r.killed} interior nodes mid-flood: tree repaired in ${r.repairSeconds} s, flood reached ${r.floodReachedAfterKill} of ${r.liveAfterKill}`,
          `${r.messages} messages, ${r.probes} probes, ${r.simulatedSeconds} s simulated in ${r.wallSeconds} s`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
