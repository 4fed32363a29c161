/**
 * Edge servers under load: a fully local content served to N concurrent clients (curl)
 * over HTTP by a Canopy node and, in the same run, by nginx from a plain file; then over
 * FTP by the node and by vsftpd. Prints aggregate MB/s and the ratios Canopy / baseline.
 * Options: --size 1GiB --clients 8 --runs 3.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { publish } from '../test/helpers/edge-network.js';
import { startNginx, startVsftpd } from './_servers.js';
import { log, mbps, median, option, round, sizeOption } from './_util.js';

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

async function measure(what: string, runs: number, fn: () => Promise<number>): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    seconds.push(await fn());
    log(`${what}: run ${i + 1} ${round(seconds[i]!)} s`);
  }
  return median(seconds);
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const clients = Number(option(args, 'clients', '8'));
  const runs = Number(option(args, 'runs', '3'));
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
    const canopyHttp = await measure('canopy http', runs, () => fetchConcurrently(`${root.http}/content/${id}`, clients, size));
    const nginxHttp = await measure('nginx', runs, () => fetchConcurrently(`${nginx.url}/payload.bin`, clients, size));
    const canopyFtp = await measure('canopy ftp', runs, () => fetchConcurrently(`${root.ftp}/payload.bin`, clients, size, ['--user', 'bench:bench']));
    const vsftpdFtp = await measure('vsftpd', runs, () => fetchConcurrently(`${vsftpd.url}/payload.bin`, clients, size));
    const canopyFtps = await measure('canopy ftps', 1, () => fetchConcurrently(`${root.ftp}/payload.bin`, clients, size, ['--user', 'bench:bench', '--ssl-reqd', '-k']));
    return {
      size,
      clients,
      runs,
      canopyMBps: mbps(total, canopyHttp),
      nginxMBps: mbps(total, nginxHttp),
      ratio: round(nginxHttp / canopyHttp),
      ftp: { canopyMBps: mbps(total, canopyFtp), vsftpdMBps: mbps(total, vsftpdFtp), ratio: round(vsftpdFtp / canopyFtp), canopyTlsMBps: mbps(total, canopyFtps) },
      note: 'loopback, 2 cores shared by server, curl clients and other work; medians of runs',
    };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
