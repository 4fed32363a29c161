/**
 * Health answers under download load (issue 16 item 10): a root node serves a 64 MiB content
 * to 50 concurrent HTTP clients (one `curl --parallel` process, restarted as it finishes) while
 * a prober asks `/healthz` (and `/readyz`) every 100 ms on a fresh connection, as a supervisor
 * or load balancer does. Baseline, in the same run: nginx serving the same file to the same
 * clients, probed for a small file. Phases alternate (Canopy idle, Canopy loaded, nginx
 * loaded) `--rounds` times; prints p50/p90/p99/max per phase, the node's CPU seconds per GiB
 * served, and the load average. `--nice` runs the clients at nice 19, so that on this shared
 * 2-core machine they stand for clients on other hosts instead of competing with the node.
 * Options: --clients 50 --size 64MiB --seconds 20 --rounds 2 --nice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { publish } from '../test/helpers/edge-network.js';
import { startNginx } from './_servers.js';
import { log, option, perGiB, ProcessMeter, processTree, round, sizeOption } from './_util.js';

/** Latency (ms) of one GET on a fresh connection; NaN when it failed. */
function probe(url: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? Number(process.hrtime.bigint() - t0) / 1e6 : Number.NaN));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(Number.NaN));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]): Record<string, number> {
  const ok = samples.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return { n: ok.length, failed: samples.length - ok.length, p50: round(percentile(ok, 50), 1), p90: round(percentile(ok, 90), 1), p99: round(percentile(ok, 99), 1), max: round(ok[ok.length - 1] ?? Number.NaN, 1) };
}

/** `clients` parallel transfers of `url`, again and again, until stopped; counts the bytes received. */
class Downloaders {
  bytes = 0;
  private child: ChildProcess | undefined;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(url: string, clients: number, config: string, nice: boolean) {
    writeFileSync(config, Array.from({ length: clients * 4 }, () => `url = "${url}"\noutput = "/dev/null"\n`).join(''));
    const args = ['-sS', '--parallel', '--parallel-max', String(clients), '-w', '%{size_download}\\n', '-K', config];
    this.done = (async () => {
      while (!this.stopped) {
        await new Promise<void>((resolve) => {
          this.child = nice ? spawn('nice', ['-n', '19', 'curl', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }) : spawn('curl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
          this.child.stdout!.on('data', (d: Buffer) => {
            for (const line of d.toString().split('\n')) this.bytes += Number(line) || 0;
          });
          this.child.on('close', () => resolve());
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.child?.kill('SIGTERM');
    await this.done;
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const clients = Number(option(args, 'clients', '50'));
  const size = sizeOption(args, 'size', '64MiB');
  const seconds = Number(option(args, 'seconds', '20'));
  const rounds = Number(option(args, 'rounds', '2'));
  const nice = args.includes('--nice');
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-healthz-'));
  const network = new LocalNetwork(path.join(dir, 'net'));
  const load = loadavg().map((x) => round(x, 2));
  let nginxStop: (() => Promise<void>) | undefined;
  try {
    const plain = path.join(dir, 'plain');
    mkdirSync(plain);
    chmodSync(dir, 0o755);
    chmodSync(plain, 0o755);
    const file = path.join(plain, 'payload.bin');
    await writeSample(file, size, 'healthz-bench');
    writeFileSync(path.join(plain, 'health'), '{"ok":true}');
    chmodSync(file, 0o644);
    chmodSync(path.join(plain, 'health'), 0o644);
    await network.start([]);
    const root = network.root!;
    const id = await publish(network, file);
    const nginx = await startNginx(dir, plain);
    nginxStop = nginx.stop;
    const phases: Record<string, { healthz: number[]; readyz: number[]; bytes: number; cpuSeconds: number }> = {};
    const phase = async (name: string, probeUrls: [string, string?], downloadUrl: string | null, pids: () => number[]) => {
      const p = (phases[name] ??= { healthz: [], readyz: [], bytes: 0, cpuSeconds: 0 });
      const downloads = downloadUrl ? new Downloaders(downloadUrl, clients, path.join(dir, 'curl.cfg'), nice) : undefined;
      // Let the transfers get going before probing.
      if (downloads) await sleep(2_000);
      const meter = new ProcessMeter(pids).start();
      const bytesBefore = downloads?.bytes ?? 0;
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        const t = Date.now();
        const [h, r] = await Promise.all([probe(probeUrls[0]), probeUrls[1] ? probe(probeUrls[1]) : Promise.resolve(undefined)]);
        p.healthz.push(h);
        if (r !== undefined) p.readyz.push(r);
        await sleep(Math.max(0, 100 - (Date.now() - t)));
      }
      p.cpuSeconds += meter.stop().cpuSeconds;
      p.bytes += (downloads?.bytes ?? 0) - bytesBefore;
      await downloads?.stop();
      log(`${name}: healthz ${JSON.stringify(summary(p.healthz))}`);
    };
    const node = () => [root.process.pid!];
    for (let i = 0; i < rounds; i++) {
      await phase('canopyIdle', [`${root.api}/healthz`, `${root.api}/readyz`], null, node);
      await phase('canopyLoaded', [`${root.api}/healthz`, `${root.api}/readyz`], `${root.http}/content/${id}`, node);
      await phase('nginxLoaded', [`${nginx.url}/health`], `${nginx.url}/payload.bin`, () => processTree(nginx.pid));
    }
    const out: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(phases)) {
      out[name] = {
        healthzMs: summary(p.healthz),
        ...(p.readyz.length ? { readyzMs: summary(p.readyz) } : {}),
        ...(p.bytes > 0 ? { servedMBps: round(p.bytes / 1e6 / (seconds * rounds), 1), serverCpuSecondsPerGiB: perGiB(p.cpuSeconds, p.bytes) } : {}),
      };
    }
    const loaded = out.canopyLoaded as { healthzMs: { p99: number } };
    const baseline = out.nginxLoaded as { healthzMs: { p99: number } };
    return { clients, size, seconds, rounds, niceClients: nice, loadavgAtStart: load, ...out, p99RatioToNginx: round(loaded.healthzMs.p99 / baseline.healthzMs.p99, 2), note: 'probes on fresh connections every 100 ms; 2 cores shared with the clients and other work' };
  } finally {
    await nginxStop?.().catch(() => undefined);
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
