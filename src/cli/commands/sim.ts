import type { Command } from 'commander';
import { CanopyError } from '../../core/errors.js';
import { parseRate, parseSize } from '../../core/sizes.js';
import { runSwarmScenarioInWorker, runTreeScenarioInWorker } from '../../sim/tree-worker.js';
import type { TraceRow } from '../../sim/swarm-trace.js';
import { action, printJson } from '../output.js';

interface SimTreeOptions {
  nodes: string;
  seed: string;
  loss: string;
  fanout: string;
  json?: boolean;
}

interface SimSwarmOptions {
  nodes: string;
  size: string;
  blockSize: string;
  rate: string;
  slow: string;
  degree: string;
  originDegree: string;
  placement: string;
  tick: string;
  seed: string;
  relay: boolean;
  firstCopyRule: boolean;
  trace?: boolean;
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
  registerSimSwarm(sim);
}

function registerSimSwarm(sim: Command): void {
  sim
    .command('swarm')
    .description('an origin and N nodes download one content with the real swarm scheduler over simulated links; reports T against the fluid bound')
    .option('--nodes <n>', 'number of downloading nodes (the origin is one more)', '1000')
    .option('--size <size>', 'content size', '256MiB')
    .option('--block-size <size>', 'block size', '4MiB')
    .option('--rate <rate>', 'upload and download rate of every host (100mbit, 12.5MB/s)', '100mbit')
    .option('--slow <n>', 'nodes at a quarter of the rate', '0')
    .option('--degree <n>', 'neighbours per node', '32')
    .option('--origin-degree <n>', 'nodes the origin serves', '32')
    .option('--placement <where>', 'world (the simulator geography) or lan (one data centre)', 'world')
    .option('--tick <ms>', "period of each node's scheduler pass (the node's is 250; longer makes a huge run cheaper)", '250')
    .option('--seed <n>', 'random seed (same seed, same run)', '1')
    .option('--no-relay', 'forward only whole blocks (no cut-through relay of blocks still arriving)')
    .option('--no-first-copy-rule', 'the origin sends first copies to slow downloaders too (the node declines them)')
    .option('--trace', 'also, per second: the origin\'s and the nodes\' links in use, hosts idle (where the time over the bound goes)')
    .option('--json', 'print one JSON line')
    .action(
      action(async (opts: SimSwarmOptions) => {
        if (opts.placement !== 'world' && opts.placement !== 'lan') throw new CanopyError('ERR_USAGE', `--placement: "${opts.placement}" must be world or lan`);
        const nodes = int('nodes', opts.nodes, 1, 100_000);
        const size = parseSize(opts.size);
        const blockSize = parseSize(opts.blockSize);
        const rate = parseRate(opts.rate);
        if (!(blockSize >= 64 * 1024) || !(size >= blockSize) || size / blockSize > 65_536) throw new CanopyError('ERR_USAGE', '--size must be at least one block, --block-size at least 64KiB, and at most 65536 blocks');
        if (!(rate > 0)) throw new CanopyError('ERR_USAGE', `--rate: "${opts.rate}" must be above 0`);
        const r = await runSwarmScenarioInWorker({
          nodes,
          size,
          blockSize,
          rate,
          slow: int('slow', opts.slow, 0, nodes),
          degree: int('degree', opts.degree, 2, 1024),
          originDegree: int('origin-degree', opts.originDegree, 1, 1024),
          placement: opts.placement,
          tickMs: int('tick', opts.tick, 10, 10_000),
          seed: int('seed', opts.seed, 0, 2 ** 31),
          relay: opts.relay,
          firstCopyRule: opts.firstCopyRule,
          trace: opts.trace === true,
        });
        if (opts.json) return printJson(r);
        const x = r as Record<string, number> & { completionSeconds: Record<string, number>; messagesPerNodePerSecond: Record<string, number> };
        const lines = [
          `${x.nodes} nodes + origin, ${x.blocks} blocks: ${x.completed} complete; T ${x.T} s, bound T* ${x.Tstar} s, T/T* ${x.ratio}`,
          `completion min/median/max ${x.completionSeconds.min?.toFixed(1)} / ${x.completionSeconds.median?.toFixed(1)} / ${x.completionSeconds.max?.toFixed(1)} s`,
          `origin egress ${x.originEgressRatio}x the size; bytes received per byte kept ${x.receivedPerKept}`,
          `control messages per node per second: median ${x.messagesPerNodePerSecond.median}, max ${x.messagesPerNodePerSecond.max}`,
          `${x.simulatedSeconds} s simulated in ${x.wallSeconds} s`,
          ...traceLines(r.trace as TraceRow[] | undefined),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}

/** The trace as a table: one line per simulated second. */
function traceLines(rows: TraceRow[] | undefined): string[] {
  if (!rows) return [];
  const line = (cells: (string | number)[]) => cells.map((v) => String(v).padStart(9)).join(' ');
  const head = ['second', 'origin up', 'nodes up', 'download', 'idle up', 'waiting', 'no asks', 'o. sends', 'complete'];
  return ['per second: links in use over their rates; hosts uploading nothing, receiving nothing with requests out, with none', line(head), ...rows.map((r) => line([r.second, r.origin, r.peersUp, r.download, r.idleUploaders, r.waiting, r.nothingAsked, r.originSends, r.complete]))];
}
