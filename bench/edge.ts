/**
 * Edge servers under load: a fully local content served to N concurrent clients (curl)
 * over HTTP by a Canopy node and, in the same run, by nginx from a plain file; then over
 * FTP by the node and by vsftpd. Prints aggregate MB/s and the ratios Canopy / baseline.
 * Runs alternate between Canopy and its baseline (interleaved). `--ftp 0` skips the FTP part.
 * Options: --size 1GiB --clients 8 --runs 3 --ftp 1.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { publish } from '../test/helpers/edge-network.js';
import { startNginx, startVsftpd } from './_servers.js';
import { GiB, log, mbps, median, mib, option, perGiB, ProcessMeter, processTree, profileWindow, round, sizeOption, type MeterReport } from './_util.js';

/** Runs `clients` curls at once, each fetching the whole URL; returns seconds for all to finish. */
async function fetchConcurrently(url: string, clients: number, size: number, extra: string[] = []): Promise<number> {
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download}', ...extra, url], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => (code === 0 && Number(out) === size ? resolve() : reject(new Error(`curl ${url} exited ${code} after ${out} bytes`))));
      }),
    ),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

interface Measured {
  seconds: number;
  /** Median CPU seconds of the server's processes per run. */
  cpuSeconds: number;
  peakRssBytes: number;
  /** Median minor page faults of the server's processes per run. */
  minorFaults: number;
}

interface Case {
  what: string;
  server: () => number[];
  fn: () => Promise<number>;
  /** Marked as the timed part for `npm run bench -- profile edge`. */
  profiled?: boolean;
}

/**
 * Runs each case `runs` times, interleaved (case A, case B, A, B...: a change in the
 * machine's load hits both alike), with a meter on each case's server processes; medians
 * of time, CPU and page faults, largest RSS.
 */
async function measure(runs: number, cases: Case[]): Promise<Measured[]> {
  const seconds = cases.map(() => [] as number[]);
  const reports = cases.map(() => [] as MeterReport[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, c] of cases.entries()) {
      const meter = new ProcessMeter(c.server).start();
      if (c.profiled) profileWindow('start');
      seconds[k]!.push(await c.fn());
      if (c.profiled) profileWindow('end');
      const r = meter.stop();
      reports[k]!.push(r);
      log(`${c.what}: run ${i + 1} ${round(seconds[k]![i]!)} s, server cpu ${round(r.cpuSeconds, 2)} s, peak RSS ${mib(r.peakRssBytes)} MiB, ${faults(r)} minor faults`);
    }
  }
  return cases.map((_, k) => ({
    seconds: median(seconds[k]!),
    cpuSeconds: median(reports[k]!.map((r) => r.cpuSeconds)),
    peakRssBytes: Math.max(...reports[k]!.map((r) => r.peakRssBytes)),
    minorFaults: median(reports[k]!.map(faults)),
  }));
}

const faults = (r: MeterReport) => r.processes.reduce((a, p) => a + p.minorFaults, 0);

export async function run(args: string[]): Promise<Record<string, unknown>> {
  // Nodes run as shipped (dist/, built by `npm run bench`), not through tsx: their RSS is the product's.
  process.env.CANOPY_CLI ??= 'dist';
  const size = sizeOption(args, 'size', '1GiB');
  const clients = Number(option(args, 'clients', '8'));
  const runs = Number(option(args, 'runs', '3'));
  const ftp = option(args, 'ftp', '1') !== '0';
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-i7-bench-edge-'));
  const network = new LocalNetwork(path.join(dir, 'net'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const plain = path.join(dir, 'plain');
    const file = path.join(plain, 'payload.bin');
    mkdirSync(plain);
    // The baselines' workers run as unprivileged users (nginx's, vsftpd's ftp): they must be able to read the file.
    chmodSync(dir, 0o755);
    chmodSync(plain, 0o755);
    log(`writing ${size} bytes`);
    await writeSample(file, size, 'edge-bench');
    chmodSync(file, 0o644);
    await network.start([], ['--ftp-user', 'bench:bench']);
    const root = network.root!;
    log('publishing to the root node');
    const id = await publish(network, file);
    const nginx = await startNginx(dir, plain);
    stops.push(nginx.stop);
    const vsftpd = await startVsftpd(dir, plain);
    stops.push(vsftpd.stop);
    const total = size * clients;
    const node = () => [root.process.pid!];
    const [canopyHttp, nginxHttp] = (await measure(runs, [
      { what: 'canopy http', server: node, fn: () => fetchConcurrently(`${root.http}/content/${id}`, clients, size), profiled: true },
      { what: 'nginx', server: () => processTree(nginx.pid), fn: () => fetchConcurrently(`${nginx.url}/payload.bin`, clients, size) },
    ])) as [Measured, Measured];
    const [canopyFtp, vsftpdFtp] = ftp
      ? await measure(runs, [
          { what: 'canopy ftp', server: node, fn: () => fetchConcurrently(`${root.ftp}/payload.bin`, clients, size, ['--user', 'bench:bench']) },
          { what: 'vsftpd', server: () => processTree(vsftpd.pid), fn: () => fetchConcurrently(`${vsftpd.url}/payload.bin`, clients, size) },
        ])
      : [];
    const [canopyFtps] = ftp ? await measure(1, [{ what: 'canopy ftps', server: node, fn: () => fetchConcurrently(`${root.ftp}/payload.bin`, clients, size, ['--user', 'bench:bench', '--ssl-reqd', '-k']) }]) : [];
    return {
      size,
      clients,
      runs,
      canopyMBps: mbps(total, canopyHttp.seconds),
      nginxMBps: mbps(total, nginxHttp.seconds),
      ratio: round(nginxHttp.seconds / canopyHttp.seconds),
      // Server-side CPU per GiB sent (the curl clients cost the same for both and are not counted).
      cpuSecondsPerGiB: perGiB(canopyHttp.cpuSeconds, total),
      baselineCpuSecondsPerGiB: perGiB(nginxHttp.cpuSeconds, total),
      // Fresh memory the kernel mapped in for the server per GiB sent (nginx's sendfile touches none).
      minorFaultsPerGiB: Math.round(canopyHttp.minorFaults / (total / GiB)),
      baselineMinorFaultsPerGiB: Math.round(nginxHttp.minorFaults / (total / GiB)),
      nodePeakRssMiB: mib(Math.max(canopyHttp.peakRssBytes, canopyFtp?.peakRssBytes ?? 0)),
      // The memory limit is for HTTP clients: the node's peak over the HTTP runs alone (they come first).
      httpPeakRssMiB: mib(canopyHttp.peakRssBytes),
      nginxPeakRssMiB: mib(nginxHttp.peakRssBytes),
      nodeRunsFrom: process.env.CANOPY_CLI === 'dist' ? 'dist' : 'tsx',
      ftp: canopyFtp && vsftpdFtp && canopyFtps
        ? {
            canopyMBps: mbps(total, canopyFtp.seconds),
            vsftpdMBps: mbps(total, vsftpdFtp.seconds),
            ratio: round(vsftpdFtp.seconds / canopyFtp.seconds),
            canopyTlsMBps: mbps(total, canopyFtps.seconds),
            cpuSecondsPerGiB: perGiB(canopyFtp.cpuSeconds, total),
            baselineCpuSecondsPerGiB: perGiB(vsftpdFtp.cpuSeconds, total),
          }
        : 'not run (--ftp 0)',
      note: 'loopback, 2 cores shared by server, curl clients and other work; medians of runs',
    };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
