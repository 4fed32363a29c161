/**
 * A private containerd for tests (Debian's `containerd`, as root): its own root, state and
 * socket under the test directory, the CRI plugin off, the native snapshotter (works on
 * any filesystem, no overlay mount needed). `pull` runs `ctr images pull` with a hosts
 * directory, which is how containerd is pointed at a registry mirror.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCommand, type CliResult } from './cli.js';
import { waitFor } from './wait.js';

export interface RunningContainerd {
  /** Writes `certs.d/<registry>/hosts.toml`: the mirrors first, then `server`. */
  hosts(registry: string, server: string, mirrors: string[]): string;
  pull(reference: string, platform: string): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function startContainerd(dir: string): Promise<RunningContainerd> {
  mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${path.join(dir, 'root')}"`,
      `state = "${path.join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
      '[grpc]',
      `  address = "${socket}"`,
      '',
    ].join('\n'),
  );
  const child = spawn('containerd', ['--config', config], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor('containerd to listen', async () => existsSync(socket) && (await runCommand('ctr', ['--address', socket, 'version'])).code === 0, 30_000, 200);
  const hostsDir = path.join(dir, 'certs.d');
  let pulls = 0;
  return {
    hosts(registry, server, mirrors) {
      const d = path.join(hostsDir, registry);
      mkdirSync(d, { recursive: true });
      const file = path.join(d, 'hosts.toml');
      writeFileSync(file, [`server = "${server}"`, '', ...mirrors.flatMap((m) => [`[host."${m}"]`, '  capabilities = ["pull", "resolve"]', ''])].join('\n'));
      return file;
    },
    pull(reference, platform) {
      // A namespace per pull, so that nothing one pull stored makes the next one skip a blob.
      return runCommand('ctr', ['--address', socket, '--namespace', `pull${++pulls}`, 'images', 'pull', '--snapshotter', 'native', '--hosts-dir', hostsDir, '--platform', platform, reference], { timeoutMs: 120_000 });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
