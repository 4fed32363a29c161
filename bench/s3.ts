/**
 * The S3 read API against the HTTP edge of the same node: `aws s3 cp` (Debian's AWS CLI,
 * anonymous, its default 10 parallel ranged GETs of 8 MiB) of a published 1 GiB object, and
 * `curl -o` of the same bytes from /files/<name>, interleaved, each to a file in the same
 * directory. Reports MB/s, the ratio S3/HTTP (goal >= 0.8), the node's CPU seconds per GiB
 * served for each (from /proc), each client's CPU seconds per GiB (/usr/bin/time), and the
 * node's peak RSS, and the node's bytes read per byte served (rchar: 1.0 means no byte read
 * twice or past a range). Control: `aws s3 cp` of the same bytes from nginx at the same
 * path-style URL (the client's own ceiling). A warm-up read first (the store hashes each block
 * on its first read), then the clients in alternating order. Options: --size 1GiB --runs 3.
 * `--sparse` (e.g. `--size 5GiB --sparse`): the object is a sparse file, zeros but for a
 * few marks (past 4 GiB too), cheap on disk and to publish (zero runs are holes); every
 * download is compared byte for byte with it, and ranged GetObjects past 4 GiB and a
 * HeadObject by the AWS CLI are checked: objects > 4 GiB served whole by the S3 API.
 * `--runs 0`: no download at all, only the publish and (with --sparse) that range check.
 * `--aws-s3 'max_concurrent_requests=4,multipart_chunksize=64MB'`: the AWS CLI's `s3`
 * settings for both aws runs (its config file; docs/EDGE.md, "Tuning the AWS CLI").
 * Beside them, `rclone copyto` (Go, its default 4 ranged streams) from the same S3 port: what a
 * client that is not bound by its own CPU gets from Canopy's S3 API (`rcloneRatio`, against curl).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, ftruncateSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { publish } from '../test/helpers/edge-network.js';
import { startNginx, type Baseline } from './_servers.js';
import { log, mbps, median, option, profileWindow, round, sizeOption } from './_util.js';

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

/** Bytes the node read through read(2)/pread(2) so far (rchar: page cache or disk) and from the disk itself (read_bytes). */
function readBytes(pid: number): { rchar: number; disk: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(io)?.[1] ?? NaN);
  return { rchar: field('rchar'), disk: field('read_bytes') };
}

/** Offsets of the marks of a sparse payload: the start, both sides of 4 GiB, the end. */
export function sparseMarks(size: number): number[] {
  return [0, 2 ** 32 - 8, 2 ** 32 + 64, 2 ** 32 + 2 ** 20, size - 16].filter((at) => at >= 0 && at + 16 <= size);
}

const mark = (at: number) => Buffer.from(`@${at}`.padEnd(16, '.'));

function writeSparse(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, size);
    for (const at of sparseMarks(size)) writeSync(fd, mark(at), 0, 16, at);
  } finally {
    closeSync(fd);
  }
}

/** HeadObject's ContentLength and ranged GetObjects around each mark, by the AWS CLI (s3api), against the payload's own bytes; throws on a wrong one. */
function checkRanges(endpoint: string, env: Record<string, string>, dir: string, file: string, size: number): void {
  const api = (args: string[]) => {
    const r = spawnSync('/usr/bin/aws', ['s3api', ...args, '--bucket', 'payload.bin', '--key', 'payload.bin', '--endpoint-url', endpoint, '--no-sign-request'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`aws s3api ${args[0]} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { ContentLength: number; ContentRange?: string };
  };
  const head = api(['head-object']);
  if (head.ContentLength !== size) throw new Error(`HeadObject says ${head.ContentLength} bytes, not ${size}`);
  const out = path.join(dir, 'range.bin');
  for (const at of sparseMarks(size)) {
    const from = Math.max(0, at - 8);
    const got = api(['get-object', '--range', `bytes=${from}-${at + 15}`, out]);
    const want = Buffer.alloc(at + 16 - from);
    const fd = openSync(file, 'r');
    readSync(fd, want, 0, want.length, from);
    closeSync(fd);
    if (got.ContentRange !== `bytes ${from}-${at + 15}/${size}` || !readFileSync(out).equals(want)) throw new Error(`range at ${at}: ${got.ContentRange}, ${JSON.stringify(readFileSync(out).toString())}`);
  }
}

function sameBytes(a: string, b: string): void {
  const r = spawnSync('cmp', [a, b], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the download differs from the payload: ${r.stdout}${r.stderr}`);
}

interface Run {
  seconds: number;
  serverCpu: number;
  clientCpu: number;
  /** Bytes the node read (rchar) while serving, per byte served: 1 means each byte was read once. */
  readPerServed: number;
}

/** Runs a client under /usr/bin/time; wall seconds, its CPU seconds, and the node's CPU seconds meanwhile. */
function measure(pid: number, command: string, args: string[], env: Record<string, string>, out: string, size: number): Run {
  rmSync(out, { force: true });
  const cpu0 = cpuSeconds(pid);
  const io0 = readBytes(pid);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', command, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  if (statSync(out).size !== size) throw new Error(`${command} wrote ${statSync(out).size} bytes, not ${size}`);
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, serverCpu: cpuSeconds(pid) - cpu0, clientCpu: user! + sys!, readPerServed: round((readBytes(pid).rchar - io0.rchar) / size, 3) };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const runs = Number(option(args, 'runs', '3'));
  const sparse = args.includes('--sparse');
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-s3-'));
  const network = new LocalNetwork(path.join(dir, 'net'));
  let nginx: Baseline | undefined;
  try {
    const file = path.join(dir, 'payload.bin');
    log(`writing ${size} bytes${sparse ? ' (sparse)' : ''}`);
    if (sparse) writeSparse(file, size);
    else await writeSample(file, size, 's3-bench');
    await network.start([]);
    const root = network.root!;
    log('publishing to the root node');
    await publish(network, file);
    const pid = root.process.pid!;
    // The control: the same bytes from nginx at the same path-style URL (/payload.bin/payload.bin),
    // so `aws s3 cp` can read them (GET with Range, HEAD). What aws reaches from nginx is the
    // client's own ceiling on this machine, whatever the server.
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, 'www', 'payload.bin'), { recursive: true, mode: 0o755 });
    linkSync(file, path.join(dir, 'www', 'payload.bin', 'payload.bin'));
    chmodSync(file, 0o644);
    nginx = await startNginx(dir, path.join(dir, 'www'));
    const awsS3 = option(args, 'aws-s3', '');
    const config = path.join(dir, 'aws-config');
    writeFileSync(config, `[default]\n${awsS3 ? `s3 =\n${awsS3.split(',').map((kv) => `  ${kv.replace('=', ' = ')}\n`).join('')}` : ''}`);
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    const out = path.join(dir, 'out.bin');
    const s3: Run[] = [];
    const http: Run[] = [];
    const control: Run[] = [];
    // The store hashes each block on its first read in a run of the node (store/read-verification.ts):
    // one warm-up read pays that for both clients, so neither is charged for the other.
    const aws = (endpoint: string, server = pid) => measure(server, '/usr/bin/aws', ['s3', 'cp', 's3://payload.bin/payload.bin', out, '--endpoint-url', endpoint, '--no-sign-request', '--only-show-errors'], env, out, size);
    const curl = () => measure(pid, 'curl', ['-sS', '--fail', '-o', out, `${root.http}/files/payload.bin`], {}, out, size);
    // An anonymous on-the-fly remote, no config file; AWS_CA_BUNDLE empty: rclone refuses a custom bundle on plain HTTP.
    const rclone = () => measure(pid, 'rclone', ['copyto', ':s3:payload.bin/payload.bin', out, '--s3-provider', 'Other', '--s3-endpoint', root.s3, '--s3-force-path-style', '--config', '/dev/null'], { AWS_CA_BUNDLE: '' }, out, size);
    const rcloneRuns: Run[] = [];
    const name = { s3: 'aws s3 cp', http: 'curl http', nginx: 'aws s3 cp from nginx', rclone: 'rclone copyto' } as const;
    if (runs > 0) curl();
    for (let i = 0; i < runs; i++) {
      // Interleaved, and the first client alternates, so neither always meets a warmer page cache.
      const order = i % 2 === 0 ? (['s3', 'http', 'nginx', 'rclone'] as const) : (['rclone', 'nginx', 'http', 's3'] as const);
      for (const which of order) {
        // Under `bench profile`, each client's run is a phase: CANOPY_PROFILE_PHASE=s3|http summarises the node serving that client.
        profileWindow('start', which);
        const r = which === 's3' ? aws(root.s3) : which === 'http' ? curl() : which === 'rclone' ? rclone() : aws(nginx.url, nginx.pid);
        profileWindow('end', which);
        ({ s3, http, nginx: control, rclone: rcloneRuns })[which].push(r);
        if (sparse) sameBytes(out, file);
        const read = which === 'nginx' ? '' : `, node read ${r.readPerServed} B per B served`;
        log(`${name[which]}: run ${i + 1} ${round(r.seconds)} s${read}; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
      }
    }
    if (sparse) checkRanges(root.s3, env, dir, file, size);
    if (runs === 0) return { size, runs, ...(sparse ? { sparse: true, checked: 'HeadObject ContentLength; ranged GetObjects at each mark, past 4 GiB too (aws s3api)', marks: sparseMarks(size) } : {}), nodePeakRssMiB: peakRssMiB(pid), loadavg: readFileSync('/proc/loadavg', 'utf8').trim() };
    const gib = size / GIB;
    const summary = (rs: Run[]) => ({ MBps: mbps(size, median(rs.map((r) => r.seconds))), nodeCpuSecondsPerGiB: round(median(rs.map((r) => r.serverCpu)) / gib, 2), clientCpuSecondsPerGiB: round(median(rs.map((r) => r.clientCpu)) / gib, 2), nodeReadPerServed: median(rs.map((r) => r.readPerServed)) });
    const s3Sum = summary(s3);
    const httpSum = summary(http);
    const nginxSum = summary(control);
    const rcloneSum = summary(rcloneRuns);
    return {
      size,
      runs,
      ...(awsS3 ? { awsS3 } : {}),
      ...(sparse ? { sparse: true, checked: 'every download equal to the payload (cmp); HeadObject ContentLength; ranged GetObjects at each mark, past 4 GiB too (aws s3api)' } : {}),
      s3: s3Sum,
      http: httpSum,
      ratio: round(s3Sum.MBps / httpSum.MBps),
      // Not the goal's ratio: aws from Canopy's S3 port against aws from nginx (the client's ceiling).
      awsFromNginx: { MBps: nginxSum.MBps, clientCpuSecondsPerGiB: nginxSum.clientCpuSecondsPerGiB },
      s3VsNginxForAws: round(s3Sum.MBps / nginxSum.MBps),
      // Not the goal's ratio either: a compiled S3 client from the same S3 port against curl.
      rclone: rcloneSum,
      rcloneRatio: round(rcloneSum.MBps / httpSum.MBps),
      nodePeakRssMiB: peakRssMiB(pid),
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
      note: 'one node holding the object; loopback; aws = Debian awscli (10 parallel 8 MiB ranged GETs); rclone = Debian rclone (4 ranged streams); both clients write to a file in the same directory; one curl warm-up read first (first-read block hashing); order alternates per run',
    };
  } finally {
    await nginx?.stop();
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
