/** Baseline servers for edge benchmarks, each on a free loopback port with its own temp config: nginx (sendfile) and vsftpd. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from '../src/demo/local-network.js';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port}`);
}

export interface Baseline {
  url: string;
  /** The server's main process (nginx master, vsftpd): meter processTree(pid) for its CPU. */
  pid: number;
  stop: () => Promise<void>;
}

/** An nginx prefix under `dir` serving `root` on 127.0.0.1:`port` (sendfile, no access log); returns nginx's arguments. */
export function nginxArgs(dir: string, root: string, port: number): string[] {
  const prefix = path.join(dir, 'nginx');
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, `daemon off;\nworker_processes auto;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  client_body_temp_path ${prefix}/body;\n  proxy_temp_path ${prefix}/proxy;\n  fastcgi_temp_path ${prefix}/fastcgi;\n  uwsgi_temp_path ${prefix}/uwsgi;\n  scgi_temp_path ${prefix}/scgi;\n  server { listen 127.0.0.1:${port}; root ${root}; }\n}\n`);
  return ['-p', prefix, '-c', conf];
}

export async function startNginx(dir: string, root: string): Promise<Baseline> {
  const port = await freePort();
  const child = spawn('nginx', nginxArgs(dir, root, port), { stdio: 'ignore' });
  await waitPort(port, child, 'nginx');
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopProcess(child) };
}

export async function startVsftpd(dir: string, root: string): Promise<Baseline> {
  const home = path.join(dir, 'vsftpd');
  mkdirSync(home, { recursive: true });
  mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const port = await freePort();
  const conf = path.join(home, 'vsftpd.conf');
  writeFileSync(conf, ['listen=YES', 'background=NO', `listen_port=${port}`, 'listen_address=127.0.0.1', 'anonymous_enable=YES', 'no_anon_password=YES', `anon_root=${root}`, 'local_enable=NO', 'write_enable=NO', 'pasv_enable=YES', 'pasv_address=127.0.0.1', 'max_clients=64', 'max_per_ip=64', 'seccomp_sandbox=NO', 'secure_chroot_dir=/var/run/vsftpd/empty', 'xferlog_enable=NO', ''].join('\n'));
  const child = spawn('vsftpd', [conf], { stdio: 'ignore' });
  await waitPort(port, child, 'vsftpd');
  return { url: `ftp://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopProcess(child) };
}

/**
 * The AWS settings for s3rver: the key pair it accepts (it checks that the key id exists, not
 * the SigV4 signature), a region, and no instance-metadata lookup (a credential chain that
 * found nothing would otherwise try the link-local metadata address: tests talk to loopback only).
 */
export const S3RVER_KEYS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

/**
 * s3rver (npm, a dev dependency) as a real S3-compatible server process, for S3 origins:
 * path-style on a free loopback port, objects kept under `dir`, the buckets made at start.
 */
export async function startS3rver(dir: string, buckets: string[]): Promise<Baseline> {
  const data = path.join(dir, 's3rver');
  mkdirSync(data, { recursive: true });
  const port = await freePort();
  const bin = path.join(import.meta.dirname, '..', 'node_modules', 's3rver', 'bin', 's3rver.js');
  // s3rver's ListObjectsV2 continuation tokens are DES-encrypted: OpenSSL 3 needs its legacy
  // provider for that, or any listing longer than one page fails with 500 InternalError.
  const args = ['--openssl-legacy-provider', bin, '-d', data, '-a', '127.0.0.1', '-p', String(port), '--silent', '--no-vhost-buckets', ...buckets.flatMap((b) => ['--configure-bucket', b])];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  await waitPort(port, child, 's3rver');
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopProcess(child) };
}
