/**
 * A local Canopy network: a root and N nodes, each a separate `canopy node` OS process
 * with its own data directory and ports on 127.0.0.1. Used by `canopy demo` (`npm start`)
 * and by the integration tests. Every child is stopped on stop(), on error and on exit.
 *
 * Security needs no setup: the root creates the cluster CA on its first start, every node
 * shares one admin API token file (`<dir>/api-token`, also exported to this process as
 * CANOPY_API_TOKEN_FILE so the CLI and ApiClient find it), and each node joins with a
 * single-use token minted through the root's API with the node's attributes. The publisher
 * key of whoever starts the network (the default key: $CANOPY_KEY or
 * ~/.config/canopy/publisher-key.json, created if absent, or `publisherKey`) is authorised
 * by the root at start (`--authorise-publisher`), so `canopy publish` works at once; a
 * production root authorises keys with `canopy publishers add` instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAttributes, type Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { ApiClient } from '../client/api-client.js';
import { hasCredentials } from '../security/credentials.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../ingest/publisher-key.js';
import { describeStuckStart, logTail, recordStartFailure, reportEnv } from './stuck-start.js';
import { makeDirs } from '../store/make-dirs.js';

export interface NodeSpec {
  name: string;
  attrs: Attributes;
}

export interface RunningNode extends NodeSpec {
  nodeId: string;
  api: string;
  http: string;
  ftp: string;
  s3: string;
  peer: { host: string; port: number };
  dataDir: string;
  process: ChildProcess;
}

/**
 * glibc malloc's setting for every node this network starts, unless this process's
 * environment has its own: a fixed mmap threshold of 128 KiB gives each block-sized Buffer a
 * mapping of its own, returned to the kernel when freed. With glibc's default the threshold
 * rises to the largest chunk freed, block Buffers then come from the main heap and its
 * resident size only grows under churn (docs/OPERATIONS.md, "Resident memory"). glibc reads
 * it when the process starts, so it is set here and in the packaged `/usr/bin/canopy`.
 */
export const NODE_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/**
 * Node's own options for every process this network (and the tests and benches) start: V8's
 * worker pool at one thread instead of Node's four. The workers run V8's concurrent marking
 * and optimising compiles; each also gets a glibc malloc arena and a stack. A node's heap is
 * a few tens of MiB and its hot code compiles in its first seconds of traffic, so one worker
 * does that work on time, and the three others were only resident memory: 16-node swarm
 * bench, Node 24, three pairs each, largest member 100.5-100.8 MiB with four workers, 98.7-98.9
 * with one, 98.5-99.5 with two; CPU per GiB the same (notes/issue-15.md, Session 22).
 * Node reads it before any JavaScript runs, so it goes on the command line here and in the
 * packaged `/usr/bin/canopy`; an operator who names a pool size in NODE_OPTIONS keeps it
 * (the command line would win over NODE_OPTIONS, so it is then left out).
 */
export function nodeRuntimeArgs(nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return nodeOptions.includes('--v8-pool-size') ? [] : ['--v8-pool-size=1'];
}

/** How long a node may take to start; CANOPY_READY_TIMEOUT_MS raises it on a loaded machine (the soak bench does). */
const readyTimeoutMs = () => Number(process.env.CANOPY_READY_TIMEOUT_MS) || 60_000;

/**
 * The command that runs the CLI, the same way this process was started (tsx in dev, dist
 * when built). CANOPY_CLI=dist runs the built CLI even from TypeScript: the benches measure
 * nodes as shipped (tsx alone adds ~45 MiB of RSS to every node), and `npm test`, which builds
 * first, starts its hundreds of node and CLI processes in half the time and CPU (0.7 s against
 * 1.3 s each here).
 */
export function cliCommand(fromDist = process.env.CANOPY_CLI === 'dist'): { command: string; args: string[] } {
  const self = fileURLToPath(import.meta.url);
  const repo = path.join(path.dirname(self), '..', '..');
  const bin = path.join(repo, 'bin', 'canopy.cjs');
  const runtime = nodeRuntimeArgs();
  if (fromDist && existsSync(path.join(repo, 'dist', 'cli', 'main.js'))) return { command: process.execPath, args: [...runtime, bin] };
  const ext = path.extname(self);
  if (ext === '.js') return { command: process.execPath, args: [...runtime, bin] };
  // From the sources: the shipped thread-pool size preloaded ahead of tsx (bin/threadpool.cjs).
  const main = path.join(path.dirname(self), '..', 'cli', 'main.ts');
  return { command: process.execPath, args: [...runtime, '--require', path.join(repo, 'bin', 'threadpool.cjs'), '--import', 'tsx', main] };
}

/** Attributes for demo node i: regions and tiers alternate so that about half match region=eu. */
export function demoAttributes(i: number): Attributes {
  return { region: i % 2 === 0 ? 'eu' : 'us', tier: Math.floor(i / 2) % 2 === 0 ? 'edge' : 'hub' };
}

export class LocalNetwork {
  readonly nodes: RunningNode[] = [];
  root: RunningNode | undefined;
  /**
   * Environment added for one process, by name (e.g. a malloc setting for half of a soak's
   * nodes, so both arms of an A/B share one root and one churn); undefined removes a variable.
   */
  readonly envFor = new Map<string, Record<string, string | undefined>>();
  private readonly onExit = () => this.kill();

  constructor(
    private readonly dir: string,
    private readonly basePort = 0,
    /** The publisher key file the root authorises at start (default: the default key of this process). */
    private readonly publisherKey?: string,
  ) {
    process.once('exit', this.onExit);
  }

  get rootApi(): ApiClient {
    return new ApiClient(this.root!.api, this.apiToken());
  }

  /** The admin API token every node of this network accepts. */
  get apiTokenFile(): string {
    return path.join(this.dir, 'api-token');
  }

  apiToken(): string {
    return readFileSync(this.apiTokenFile, 'utf8').trim();
  }

  /** An API client for any node of this network. */
  api(node: RunningNode): ApiClient {
    return new ApiClient(node.api, this.apiToken());
  }

  /** A single-use join token with these attributes, minted by the root. */
  async joinToken(attrs: Attributes, ttl = '10m'): Promise<string> {
    const { token } = await this.rootApi.postJson<{ token: string }>('/api/join-tokens', { attrs, ttl });
    return token;
  }

  async start(specs: NodeSpec[], extraArgs: string[] = []): Promise<void> {
    makeDirs(this.dir);
    process.env.CANOPY_API_TOKEN_FILE = this.apiTokenFile;
    try {
      this.root = await this.spawnNode({ name: 'root', attrs: {} }, 0, ['--root', ...extraArgs]);
      const join = `${this.root.peer.host}:${this.root.peer.port}`;
      // Every node that did start is kept, so that a failure of another stops it too (below).
      const started = await Promise.allSettled(specs.map((spec, i) => this.spawnNode(spec, i + 1, ['--join', join, ...extraArgs])));
      for (const s of started) if (s.status === 'fulfilled') this.nodes.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      await this.waitJoined(specs.length);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * Starts one node and waits for its `ready` line. A node that is not ready in time is
   * described (./stuck-start.ts), killed and started once more, as systemd does with a unit
   * past its TimeoutStartSec: a start that hangs once in hundreds (seen twice in CI, never
   * reproduced here in 700 starts) must not fail a whole run; the description is kept
   * (stderr, and CANOPY_STUCK_LOG for CI) so the hang itself can still be found. A second
   * timeout, or a node that exits, is an error.
   */
  async spawnNode(spec: NodeSpec, index: number, args: string[]): Promise<RunningNode> {
    try {
      return await this.spawnOnce(spec, index, args);
    } catch (err) {
      if (!(err instanceof CanopyError) || err.code !== 'ERR_TIMEOUT') throw err;
      process.stderr.write(`canopy: ${err.message}\ncanopy: starting node ${spec.name} once more\n`);
      return this.spawnOnce(spec, index, args);
    }
  }

  private async spawnOnce(spec: NodeSpec, index: number, args: string[]): Promise<RunningNode> {
    const dataDir = path.join(this.dir, spec.name);
    makeDirs(dataDir);
    // The CLI and ApiClient of this process find the network's admin token through this.
    process.env.CANOPY_API_TOKEN_FILE = this.apiTokenFile;
    const ports = this.basePort === 0 ? [0, 0, 0, 0, 0] : [0, 1, 2, 3, 4].map((k) => this.basePort + index * 10 + k);
    const { command, args: base } = cliCommand();
    const isRoot = args.includes('--root');
    // The root attests itself; a new node gets its attributes through a join token.
    const identity = isRoot
      ? [...Object.entries(spec.attrs).flatMap(([k, v]) => ['--attr', v === '' ? k : `${k}=${v}`]), '--authorise-publisher', loadOrCreateKeyFile(this.publisherKey ?? defaultKeyPath()).publicKey]
      : args.includes('--token') || hasCredentials(dataDir)
        ? []
        : ['--token', await this.joinToken(spec.attrs)];
    const log = openSync(path.join(dataDir, 'node.log'), 'a');
    const child = spawn(
      command,
      [...base, 'node', '--name', spec.name, '--data', dataDir, '--peer-port', String(ports[0]), '--api-port', String(ports[1]), '--http-port', String(ports[2]), '--ftp-port', String(ports[3]), '--s3-port', String(ports[4]), '--api-token-file', this.apiTokenFile, ...identity, ...args],
      { stdio: ['ignore', 'pipe', log], env: { ...NODE_MALLOC_ENV, ...process.env, ...this.envFor.get(spec.name), NODE_OPTIONS: reportEnv(dataDir, this.envFor.get(spec.name)?.NODE_OPTIONS ?? process.env.NODE_OPTIONS) } },
    );
    closeSync(log);
    const ready = await waitReady(child, spec.name, dataDir);
    return { ...spec, ...ready, dataDir, process: child };
  }

  async waitJoined(count: number): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs();
    while (Date.now() < deadline) {
      const { nodes } = await this.rootApi.get<{ nodes: unknown[] }>('/api/nodes');
      if (nodes.length >= count) return;
      await sleep(100);
    }
    const { nodes } = await this.rootApi.get<{ nodes: { name?: string }[] }>('/api/nodes').catch(() => ({ nodes: [] as { name?: string }[] }));
    const joined = new Set(nodes.map((n) => n.name));
    const missing = this.nodes.filter((n) => !joined.has(n.name));
    const logs = [this.root!, ...missing].map((n) => `last lines of ${n.name}'s log:\n${logTail(path.join(n.dataDir, 'node.log'), 15)}`);
    const message = `only some of ${count} nodes joined the root within ${readyTimeoutMs()} ms; missing: ${missing.map((n) => n.name).join(', ') || '?'}\n${logs.join('\n')}`;
    recordStartFailure(message);
    throw new CanopyError('ERR_TIMEOUT', message);
  }

  /** Stops every node with SIGTERM and waits for each to exit (SIGKILL after 10 s). */
  async stop(): Promise<void> {
    process.off('exit', this.onExit);
    const all = [...this.nodes, ...(this.root ? [this.root] : [])];
    await Promise.all(all.map((n) => stopProcess(n.process)));
  }

  private kill(): void {
    for (const n of [...this.nodes, ...(this.root ? [this.root] : [])]) n.process.kill('SIGKILL');
  }

  describe(node: RunningNode): string {
    return `${node.name} (${formatAttributes(node.attrs)})`;
  }
}

async function waitReady(child: ChildProcess, name: string, dataDir: string): Promise<Omit<RunningNode, keyof NodeSpec | 'dataDir' | 'process'>> {
  const lines = createInterface({ input: child.stdout! });
  // A node that never says ready is killed; the error then names the timeout, not an exit,
  // because on a loaded machine a slow start is the likely cause and the fix differs.
  let timedOut = false;
  let stuck: Promise<string> | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    // What it was doing, before it is killed: the error then says why, not only that.
    stuck = describeStuckStart(child, dataDir, path.join(dataDir, 'node.log')).finally(() => child.kill('SIGKILL'));
  }, readyTimeoutMs());
  try {
    for await (const line of lines) {
      try {
        const event = JSON.parse(line) as { event?: string; nodeId: string; api: string; http: string; ftp: string; s3: string; peer: { host: string; port: number } };
        if (event.event === 'ready') {
          child.stdout!.resume();
          return { nodeId: event.nodeId, api: event.api, http: event.http, ftp: event.ftp, s3: event.s3, peer: event.peer };
        }
      } catch {
        // Not a JSON line; ignore.
      }
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    // Gone before anything starts again in its data directory.
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    const message = `node ${name} was not ready within ${readyTimeoutMs()} ms (CANOPY_READY_TIMEOUT_MS); see ${path.join(dataDir, 'node.log')}\n${await stuck}`;
    recordStartFailure(message);
    throw new CanopyError('ERR_TIMEOUT', message);
  }
  // Its last words are in its log: shown here, so a failed start says why without opening it.
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  const how = child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`;
  const log = path.join(dataDir, 'node.log');
  throw new CanopyError('ERR_DISTRIBUTION_FAILED', `node ${name} exited before it was ready (${how}); see ${log}; its last lines:\n${logTail(log, 10)}`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
