/**
 * A Canopy network on the multi-host harness: the root in host 0, one `canopy node` in
 * every other host, each bound to its namespace's address. The test process is outside
 * every namespace, so it talks to the nodes the way an operator on a host would: by running
 * real clients (curl, the canopy CLI) inside the namespaces.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import type { Host, NetnsHarness } from './harness.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';
import { cliCommand, NODE_MALLOC_ENV } from '../../src/demo/local-network.js';
import { logTail, reportEnv } from '../../src/demo/stuck-start.js';
import { waitReady } from './node-start.js';
import { StatusPoller } from './status-poller.js';

export interface ClusterNode {
  host: Host;
  api: string;
  http: string;
  peer: string;
  dataDir: string;
  process: ChildProcess;
  args: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const START_BATCH = 4;
/** Lines of each log a join failure shows: it may name several nodes. */
const JOIN_TAIL_LINES = 15;

/**
 * The canopy CLI as an argv (LocalNetwork's `cliCommand`): the sources under tsx (a test run
 * by hand: always current), or the build when `fromDist` (benchmarks) or CANOPY_CLI=dist
 * (`npm test`, which builds first): it starts faster and runs as shipped.
 */
export function canopyArgv(fromDist = process.env.CANOPY_CLI === 'dist'): string[] {
  const { command, args } = cliCommand(fromDist);
  return [command, ...args];
}

export class CanopyCluster {
  readonly nodes = new Map<string, ClusterNode>();
  /** Emulated extra delay on everything a host's node sends (see emulated-delay.ts), by host name. */
  readonly delays = new Map<string, number>();

  constructor(
    readonly harness: NetnsHarness,
    readonly dir: string,
    private readonly fromDist = process.env.CANOPY_CLI === 'dist',
  ) {}

  get root(): ClusterNode {
    return this.nodes.get(this.harness.hosts[0]!.name)!;
  }

  /** The admin token every node of this cluster accepts (the root writes it on its first start). */
  get apiTokenFile(): string {
    return path.join(this.dir, 'api-token');
  }

  /**
   * A single-use join token minted by the root. Attributes are attested: a node gets them
   * from its token, never from its own command line.
   */
  joinToken(attrs: Record<string, string>): string {
    const body = JSON.stringify({ attrs, ttl: '10m' });
    return this.curlJson<{ token: string }>(this.root.host, `${this.root.api}/api/join-tokens`, ['-X', 'POST', '-H', 'content-type: application/json', '--data', body]).token;
  }

  /** Starts the root in hosts[0], then every other host joined to it. `args(host)` adds node options (`--attr k=v` become the join token's attributes). */
  async start(args: (host: Host) => string[] = () => [], include: (host: Host) => boolean = () => true): Promise<void> {
    const [rootHost, ...rest] = this.harness.hosts;
    const others = rest.filter(include);
    // The CLI run in the namespaces publishes with this process's default key: the root authorises it.
    await this.startNode(rootHost!, ['--root', '--authorise-publisher', loadOrCreateKeyFile(defaultKeyPath()).publicKey, ...args(rootHost!)]);
    // A few at a time: set-up is paced, so a large cluster on a busy machine does not time out starting.
    for (let i = 0; i < others.length; i += START_BATCH) await Promise.all(others.slice(i, i + START_BATCH).map((h) => this.startNode(h, ['--join', this.root.peer, ...args(h)])));
    await this.waitJoined(others.length);
  }

  async startNode(host: Host, args: string[]): Promise<ClusterNode> {
    const dataDir = path.join(this.dir, host.name);
    mkdirSync(dataDir, { recursive: true });
    // The CLI run inside the namespaces finds the admin token here.
    process.env.CANOPY_API_TOKEN_FILE = this.apiTokenFile;
    const nodeArgs = args.includes('--root') ? args : this.enrolArgs(args, !existsSync(path.join(dataDir, 'security')));
    const log = openSync(path.join(dataDir, 'node.log'), 'a');
    const delay = this.delays.get(host.name) ?? 0;
    const [exec, ...cli] = canopyArgv(this.fromDist);
    const preload = delay > 0 ? ['--import', 'tsx', '--import', path.join(here, 'emulated-delay.ts')] : [];
    const argv = [exec!, ...preload, ...cli, 'node', '--name', host.name, '--data', dataDir, '--host', host.ip, '--peer-port', '0', '--api-port', '0', '--http-port', '0', '--api-token-file', this.apiTokenFile, ...nodeArgs];
    // NODE_OPTIONS: a diagnostic report on a signal, which says what a node too slow to start was doing (node-start.ts).
    const env = { ...NODE_MALLOC_ENV, ...process.env, CANOPY_EMULATED_DELAY_MS: String(delay), NODE_OPTIONS: reportEnv(dataDir, process.env.NODE_OPTIONS) };
    const child = this.harness.spawn(host, argv, { stdio: ['ignore', 'pipe', log], env });
    closeSync(log);
    const ready = await waitReady(child, host.name, dataDir);
    const node: ClusterNode = { host, ...ready, dataDir, process: child, args };
    this.nodes.set(host.name, node);
    return node;
  }

  /** Kills a node's process outright (SIGKILL): no chance to tidy up. */
  async kill(name: string): Promise<void> {
    const node = this.nodes.get(name)!;
    if (node.process.exitCode !== null || node.process.signalCode !== null) return;
    const exited = new Promise((resolve) => node.process.once('exit', resolve));
    node.process.kill('SIGKILL');
    await exited;
  }

  /** Starts a node again on the same data directory and options. */
  async restart(name: string): Promise<ClusterNode> {
    const node = this.nodes.get(name)!;
    return this.startNode(node.host, node.args);
  }

  /** Local holding of a content as a node's own API reports it. */
  localHolding(name: string, contentId: string): { haveBlocks: number; complete: boolean } {
    const node = this.nodes.get(name)!;
    return this.getJson<{ local: { haveBlocks: number; complete: boolean } }>(node.host, `${node.api}/api/contents/${contentId}`).local;
  }

  /** Runs the canopy CLI inside a host's namespace and returns its stdout. */
  cli(host: Host, args: string[]): string {
    return this.harness.exec(host.ns, [...canopyArgv(this.fromDist), ...args]);
  }

  /** Publishes a file through the root's API from inside the root's namespace; returns the content id. */
  publish(file: string, options: { criteria?: string; placement?: string; blockSize?: string } = {}): string {
    const args = ['publish', file, '--to', this.root.api, '--json', '--criteria', options.criteria ?? '*'];
    if (options.placement) args.push('--placement', options.placement);
    if (options.blockSize) args.push('--block-size', options.blockSize);
    const out = this.cli(this.root.host, args).trim().split('\n');
    return (JSON.parse(out[out.length - 1]!) as { contentId: string }).contentId;
  }

  getJson<T>(host: Host, url: string): T {
    return this.curlJson<T>(host, url);
  }

  /** One unlabelled counter from a node's `/metrics` (0 when it has not been counted yet). */
  metric(name: string, metricName: string): number {
    const node = this.nodes.get(name)!;
    const token = readFileSync(this.apiTokenFile, 'utf8').trim();
    const text = this.harness.exec(node.host.ns, ['curl', '-sS', '--fail', '--max-time', '10', '-H', `authorization: Bearer ${token}`, `${node.api}/metrics`]);
    return Number(new RegExp(`^${metricName} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  }

  private curlJson<T>(host: Host, url: string, extra: string[] = []): T {
    return JSON.parse(this.curlText(host, url, extra)) as T;
  }

  /** curl inside the host's namespace with the admin token; its output as text. */
  private curlText(host: Host, url: string, extra: string[] = []): string {
    const token = readFileSync(this.apiTokenFile, 'utf8').trim();
    return this.harness.exec(host.ns, ['curl', '-sS', '--fail', '--max-time', '10', '-H', `authorization: Bearer ${token}`, ...extra, url]);
  }

  /** `--attr k=v` options become, on a first start, a join token with those attributes (a restart keeps its credentials). */
  private enrolArgs(args: string[], firstStart: boolean): string[] {
    const attrs: Record<string, string> = {};
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] !== '--attr') {
        rest.push(args[i]!);
        continue;
      }
      const [k, v = ''] = args[++i]!.split('=');
      attrs[k!] = v;
    }
    return firstStart ? [...rest, '--token', this.joinToken(attrs)] : rest;
  }

  status(contentId: string): ContentStatus {
    return this.getJson<ContentStatus>(this.root.host, `${this.root.api}/api/contents/${contentId}/status`);
  }

  /** SHA-256 of the whole content as a node's HTTP edge serves it (curl inside that node's namespace). */
  servedSha256(name: string, contentId: string): string {
    const node = this.nodes.get(name)!;
    const out = this.harness.exec(node.host.ns, ['sh', '-c', `curl -sS --fail --max-time 600 '${node.http}/content/${contentId}' | sha256sum`]);
    return out.split(' ')[0]!;
  }

  /** A long-lived poller of the root's status of `contentId` (status-poller.ts); stop it when done. */
  statusPoller(contentId: string, intervalMs: number): StatusPoller {
    return StatusPoller.start(this.harness, this.root.host, `${this.root.api}/api/contents/${contentId}/status`, this.apiTokenFile, intervalMs);
  }

  /**
   * Polls the root until every qualified node is complete; `onPoll` sees each status. With
   * `poller`, the statuses are its (it keeps its own pace), else one curl every `intervalMs`.
   */
  async waitComplete(contentId: string, options: { timeoutMs?: number; intervalMs?: number; poller?: StatusPoller; onPoll?: (s: ContentStatus, elapsedMs: number) => void; include?: string[] } = {}): Promise<ContentStatus> {
    const t0 = Date.now();
    let failures = 0;
    for (;;) {
      let status: ContentStatus | undefined;
      try {
        status = options.poller ? await options.poller.next() : this.status(contentId);
        failures = 0;
      } catch (err) {
        // The root may be briefly busy; but if the namespaces are gone (someone deleted them
        // under us), polling can never succeed again: stop with the reason.
        if (++failures >= 40) throw new Error(`cannot ask the root for status: ${(err as Error).message}`);
      }
      if (status) {
        options.onPoll?.(status, Date.now() - t0);
        const qualified = status.nodes.filter((n) => n.qualified);
        // Nodes register with the root only once the control tree has placed them: `include`
        // names nodes that must be listed (and complete) before the wait is over.
        const listed = (options.include ?? []).every((name) => status!.nodes.some((n) => n.name === name));
        if (listed && qualified.length > 0 && qualified.every((n) => n.complete)) return status;
      }
      if (Date.now() - t0 > (options.timeoutMs ?? 300_000)) throw new Error(`distribution of ${contentId.slice(0, 12)} did not complete: ${JSON.stringify(status?.nodes.map((n) => [n.name, n.haveBlocks]))}`);
      if (!options.poller) await sleep(options.intervalMs ?? 250);
    }
  }

  private async waitJoined(count: number): Promise<void> {
    let joined = new Set<string | undefined>();
    for (let i = 0; i < 300; i++) {
      const { nodes } = this.getJson<{ nodes: { name?: string }[] }>(this.root.host, `${this.root.api}/api/nodes`);
      if (nodes.length >= count) return;
      joined = new Set(nodes.map((n) => n.name));
      await sleep(100);
    }
    // The logs of the root and of those it does not list say why, in the error itself (its directory may be gone when it is read).
    const missing = [...this.nodes.values()].filter((n) => n !== this.root && !joined.has(n.host.name));
    const logs = [this.root, ...missing].map((n) => `last lines of ${path.join(n.dataDir, 'node.log')}:\n${logTail(path.join(n.dataDir, 'node.log'), JOIN_TAIL_LINES)}`);
    throw new Error(`only some of ${count} nodes joined the root; not listed: ${missing.map((n) => n.host.name).join(', ') || '?'}\n${logs.join('\n')}`);
  }
}
