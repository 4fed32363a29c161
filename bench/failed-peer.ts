/**
 * What one failing peer costs the healthy ones (issue 24, item 3): a root and three qualified
 * nodes, one of them ("bad") on its own tmpfs volume. A fresh 64 MiB content is published and
 * the time until the two healthy nodes hold all of it is measured, with "bad" healthy, with
 * its volume remounted read-only, and with it dead (kill -9): the scenarios take turns,
 * `--rounds` times. The baseline is the dead peer: a failing peer must cost no more than that.
 * Prints the median seconds of each, the ratios to the dead case, the bytes "bad" received
 * while read-only, CPU seconds per GiB delivered (root and nodes), and each round's swarm
 * stats of the healthy nodes (requests, second copies, requests lost to a stalled peer: a
 * slow round with `stalled` > 0 waited on a silent peer). Root only (mounts).
 * Options: --size 64MiB --rounds 2 --keep-logs DIR (copies every node's log there; set
 * CANOPY_LOG_LEVEL=debug to see each block asked and sent) --no-dead (skip the dead turn)
 * --stop-when-slower S (end after the first read-only round of S seconds or more).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findApiToken } from '../src/client/api-token.js';
import type { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { holding, publish, startNetwork } from '../test/helpers/edge-network.js';
import { Mounts } from '../test/helpers/volumes.js';
import { log, median, option, perGiB, ProcessMeter, round, sizeOption } from './_util.js';

type Scenario = 'healthy' | 'readOnly' | 'dead';
type SwarmStats = { requests: number; copies: number; stalled: number };

/** The swarm stats a node logged when it completed the content ("content complete"). */
function swarmStats(logFile: string, contentId: string): SwarmStats | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes(contentId) || !line.includes('"content complete"')) continue;
    const { requests, copies, stalled } = JSON.parse(line) as SwarmStats;
    return { requests, copies, stalled };
  }
  return undefined;
}

async function receivedBytes(api: string): Promise<number> {
  const text = await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${findApiToken()}` } }).then((r) => r.text());
  let n = 0;
  for (const m of text.matchAll(/^canopy_swarm_block_bytes_total\{outcome="\w+"\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

async function complete(network: LocalNetwork, names: string[], contentId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const nodes = network.nodes.filter((n) => names.includes(n.name));
    const held = await Promise.all(nodes.map((n) => holding(n, contentId).catch(() => ({ haveBlocks: 0, totalBlocks: 1 }))));
    if (held.every((h) => h.haveBlocks === h.totalBlocks)) return true;
    await sleep(100);
  }
  return false;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) throw new Error('failed-peer needs root to mount a tmpfs and remount it read-only');
  // On a busy machine a node started under tsx can take longer than the usual 30 s to be ready.
  process.env.CANOPY_READY_TIMEOUT_MS ??= '120000';
  const size = sizeOption(args, 'size', '64MiB');
  const rounds = Number(option(args, 'rounds', '2'));
  const keepLogs = option(args, 'keep-logs', '');
  // Healthy and read-only turns only: more read-only rounds per minute when hunting a rare slow one.
  const noDead = args.includes('--no-dead');
  // Stop after the first read-only round this slow (seconds), with its logs (--keep-logs).
  const slowAt = Number(option(args, 'stop-when-slower', '0'));
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-failed-peer-'));
  const mounts = new Mounts();
  const disk = mounts.tmpfs(path.join(dir, 'disk'), `${Math.ceil((size * (rounds * 3 + 2)) / 2 ** 20)}m`);
  const badArgs = ['--volume', path.join(disk, 'vol')];
  let network: LocalNetwork | undefined;
  try {
    network = await startNetwork(path.join(dir, 'net'), ['--block-size', '1MiB'], [
      { spec: { name: 'n1', attrs: {} }, args: [] },
      { spec: { name: 'n2', attrs: {} }, args: [] },
      { spec: { name: 'bad', attrs: {} }, args: badArgs },
    ]);
    const net = network;
    const bad = () => net.nodes.find((n) => n.name === 'bad')!;
    const seconds: Record<Scenario, number[]> = { healthy: [], readOnly: [], dead: [] };
    const cpu: Record<Scenario, number> = { healthy: 0, readOnly: 0, dead: 0 };
    const badReceived: number[] = [];
    const turns: { scenario: Scenario; seconds: number; contentId: string; swarm: Record<string, SwarmStats | undefined> }[] = [];
    let n = 0;
    const deliver = async (scenario: Scenario): Promise<string> => {
      const file = path.join(dir, `payload-${n}.bin`);
      await writeSample(file, size, `failed-peer-${n++}`);
      const pids = () => [net.root!, ...net.nodes].flatMap((p) => (p.process.exitCode === null && p.process.pid ? [p.process.pid] : []));
      const meter = new ProcessMeter(pids).start();
      const before = scenario === 'readOnly' ? await receivedBytes(bad().api) : 0;
      const contentId = await publish(net, file);
      const t0 = Date.now();
      const ok = await complete(net, ['n1', 'n2'], contentId, 300_000);
      const s = (Date.now() - t0) / 1000;
      cpu[scenario] += meter.stop().cpuSeconds;
      rmSync(file, { force: true });
      if (!ok) throw new Error(`${scenario}: the healthy nodes did not complete within 300 s`);
      seconds[scenario].push(s);
      if (scenario === 'readOnly') badReceived.push((await receivedBytes(bad().api)) - before);
      // The line is written as the last block is stored, just before the holding shows it.
      await sleep(200);
      const swarm = Object.fromEntries(net.nodes.filter((x) => x.name !== 'bad').map((x) => [x.name, swarmStats(path.join(x.dataDir, 'node.log'), contentId)]));
      turns.push({ scenario, seconds: round(s, 2), contentId, swarm });
      log(`${scenario}: ${round(s, 2)} s ${JSON.stringify(swarm)}`);
      return contentId;
    };
    for (let r = 0; r < rounds; r++) {
      await deliver('healthy');
      mounts.readOnly(disk);
      const pending = await deliver('readOnly');
      mounts.readWrite(disk);
      // Back in service by itself (2 s probe): let it catch up so the next turn starts quiet.
      await complete(net, ['bad'], pending, 120_000);
      if (slowAt > 0 && seconds.readOnly.at(-1)! >= slowAt) break;
      if (noDead) continue;
      const b = bad();
      b.process.kill('SIGKILL');
      await new Promise((resolve) => (b.process.exitCode !== null ? resolve(undefined) : b.process.once('exit', resolve)));
      const revived = await (async () => {
        await deliver('dead');
        const join = `${net.root!.peer.host}:${net.root!.peer.port}`;
        return net.spawnNode(b, 3, ['--join', join, ...badArgs]);
      })();
      net.nodes[net.nodes.indexOf(b)] = revived;
      await net.waitJoined(3);
    }
    const m = (s: Scenario) => round(median(seconds[s]), 2);
    const gib = (s: Scenario) => seconds[s].length * 2 * size;
    return {
      size,
      rounds,
      seconds: seconds,
      healthySeconds: m('healthy'),
      readOnlySeconds: m('readOnly'),
      deadSeconds: m('dead'),
      readOnlyToDead: round(m('readOnly') / m('dead'), 2),
      healthyToDead: round(m('healthy') / m('dead'), 2),
      badReceivedWhileReadOnlyMiB: badReceived.map((b) => round(b / 2 ** 20, 1)),
      cpuSecondsPerGiB: { healthy: perGiB(cpu.healthy, gib('healthy')), readOnly: perGiB(cpu.readOnly, gib('readOnly')), dead: perGiB(cpu.dead, gib('dead')) },
      turns,
      note: 'seconds from the publish returning until n1 and n2 hold every block; CPU of root and nodes per GiB delivered to n1+n2; turns: each delivery with the healthy nodes\' swarm stats',
    };
  } finally {
    await network?.stop().catch(() => undefined);
    if (keepLogs && network) {
      mkdirSync(keepLogs, { recursive: true });
      for (const x of [network.root!, ...network.nodes]) {
        const file = path.join(x.dataDir, 'node.log');
        if (existsSync(file)) cpSync(file, path.join(keepLogs, `${x.name}.log`));
      }
    }
    mounts.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
