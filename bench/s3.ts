/**
 * The S3 read API against the HTTP edge of the same node: `aws s3 cp` (Debian's AWS CLI,
 * anonymous, its default 10 parallel ranged GETs of 8 MiB) of a published 1 GiB object, and
 * `curl -o` of the same bytes from /files/<name>, interleaved, each to a file in the same
 * directory. Reports MB/s, the ratio S3/HTTP (goal >= 0.8), the node's CPU seconds per GiB
 * served for each (from /proc), each client's CPU seconds per GiB (/usr/bin/time), and the
 * node's peak RSS. Options: --size 1GiB --runs 3.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { publish } from '../test/helpers/edge-network.js';
import { log, mbps, median, option, round, sizeOption } from './_util.js';

const GIB = 2 ** 30;

/** User+system CPU seconds of a process so far (/proc/PID/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : NaN;
}

interface Run {
  seconds: number;
  serverCpu: number;
  clientCpu: number;
}

/** Runs a client under /usr/bin/time; wall seconds, its CPU seconds, and the node's CPU seconds meanwhile. */
function measure(pid: number, command: string, args: string[], env: Record<string, string>, out: string, size: number): Run {
  rmSync(out, { force: true });
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', command, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  if (statSync(out).size !== size) throw new Error(`${command} wrote ${statSync(out).size} bytes, not ${size}`);
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, serverCpu: cpuSeconds(pid) - cpu0, clientCpu: user! + sys! };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const runs = Number(option(args, 'runs', '3'));
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-s3-'));
  const network = new LocalNetwork(path.join(dir, 'net'));
  try {
    const file = path.join(dir, 'payload.bin');
    log(`writing ${size} bytes`);
    await writeSample(file, size, 's3-bench');
    await network.start([]);
    const root = network.root!;
    log('publishing to the root node');
    await publish(network, file);
    const pid = root.process.pid!;
    const env = { AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    const out = path.join(dir, 'out.bin');
    const s3: Run[] = [];
    const http: Run[] = [];
    for (let i = 0; i < runs; i++) {
      s3.push(measure(pid, '/usr/bin/aws', ['s3', 'cp', 's3://payload.bin/payload.bin', out, '--endpoint-url', root.s3, '--no-sign-request', '--only-show-errors'], env, out, size));
      log(`aws s3 cp: run ${i + 1} ${round(s3[i]!.seconds)} s; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
      http.push(measure(pid, 'curl', ['-sS', '--fail', '-o', out, `${root.http}/files/payload.bin`], {}, out, size));
      log(`curl http: run ${i + 1} ${round(http[i]!.seconds)} s`);
    }
    const gib = size / GIB;
    const summary = (rs: Run[]) => ({ MBps: mbps(size, median(rs.map((r) => r.seconds))), nodeCpuSecondsPerGiB: round(median(rs.map((r) => r.serverCpu)) / gib, 2), clientCpuSecondsPerGiB: round(median(rs.map((r) => r.clientCpu)) / gib, 2) });
    const s3Sum = summary(s3);
    const httpSum = summary(http);
    return {
      size,
      runs,
      s3: s3Sum,
      http: httpSum,
      ratio: round(s3Sum.MBps / httpSum.MBps),
      nodePeakRssMiB: peakRssMiB(pid),
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
      note: 'one node holding the object; loopback; aws = Debian awscli (10 parallel 8 MiB ranged GETs); both clients write to a file in the same directory',
    };
  } finally {
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
