/**
 * `canopy store stats|serve|verify`: the block store of one node. `stats` asks a running
 * node's admin API (--to), or reads the index directly (--data) without disturbing the
 * node. `serve` and `verify` open the data directory read-only, as other processes of the
 * site do while the node runs: `serve` is a second HTTP edge over the same volumes and
 * index, `verify` checks every block of every content against its hash.
 */
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { CanopyError } from '../../core/errors.js';
import { formatBytes } from '../../core/sizes.js';
import { createHttpEdge } from '../../edge/http/http-edge.js';
import { Catalog } from '../../catalog/catalog.js';
import { checkPort, DEFAULTS } from '../../node/config.js';
import { createLogger } from '../../core/logger.js';
import { EdgeAccessStore } from '../../security/edge-access-store.js';
import { BlockStore, type StoreStats } from '../../store/block-store.js';
import { verifyStore } from '../../store/verify.js';
import { listenOn } from '../../wire/tcp-transport.js';
import { action, printJson } from '../output.js';
import { apiClient, apiTokenFileOption, apiUrlOption } from '../api-options.js';

interface StatsOptions {
  to: string;
  data?: string;
  json?: boolean;
}

export function formatStoreStats(s: StoreStats): string {
  const lines = [`${formatBytes(s.bytes)} in ${s.blocks} blocks${s.quota === null ? '' : ` (quota ${formatBytes(s.quota)})`}, balance ${s.balance ?? 'n/a'}, eviction ${s.evictionPolicy}: ${s.evictions} contents, ${formatBytes(s.evictedBytes)}`];
  for (const v of s.volumes) {
    const cap = v.capacity === null ? '' : ` of ${formatBytes(v.capacity)}`;
    lines.push(`  ${v.id}  ${v.state.padEnd(6)}  ${formatBytes(v.bytes).padStart(10)}${cap}  ${String(v.blocks).padStart(7)} blocks  weight ${v.weight}  ${v.path}${v.reason ? `  (${v.reason})` : ''}`);
  }
  if (s.failedVolumes.length > 0) lines.push(`  failed volumes: ${s.failedVolumes.join(', ')}; ${s.lostBlocks} blocks lost with them`);
  if (s.corruptBlocks > 0) lines.push(`  ${s.corruptBlocks} corrupt blocks found and dropped since start`);
  return lines.join('\n');
}

function openReadOnly(dir: string): BlockStore {
  try {
    return BlockStore.openReadOnly(dir);
  } catch (err) {
    if (err instanceof CanopyError) throw err;
    throw new CanopyError('ERR_USAGE', `cannot open the store in ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

export function registerStore(program: Command): void {
  const store = program.command('store').description("a node's block store: volumes, balance, failures, evictions");
  registerStats(store);
  registerServe(store);
  registerVerify(store);
}

function registerStats(store: Command): void {
  store
    .command('stats')
    .description('bytes and blocks per volume, failed volumes, evictions')
    .addOption(apiUrlOption('admin API of the node'))
    .addOption(apiTokenFileOption())
    .option('--data <dir>', "read the node's data directory directly instead (works while the node runs)")
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: StatsOptions) => {
        let stats: StoreStats;
        if (opts.data !== undefined) {
          const s = openReadOnly(opts.data);
          stats = s.stats();
          s.close();
        } else {
          stats = await apiClient(opts).get<StoreStats>('/api/store');
        }
        if (opts.json) printJson(stats);
        else process.stdout.write(`${formatStoreStats(stats)}\n`);
      }),
    );
}

function registerServe(store: Command): void {
  store
    .command('serve')
    .description("serve a node's contents over HTTP from its data directory, read-only, alongside the running node (a second edge process)")
    .requiredOption('--data <dir>', "the node's data directory")
    .option('--host <ip>', 'address to bind to', DEFAULTS.host)
    .option('--http-port <n>', 'HTTP port (0 = any free port)', '0')
    .action(
      action(async (opts: { data: string; host: string; httpPort: string }) => {
        const s = openReadOnly(opts.data);
        // The running node owns catalog sync; this process serves what its index says is live,
        // under the same access rules as the node's own edge (signed URLs checked with the CA).
        const access = EdgeAccessStore.forDataDir(s.index, opts.data);
        const server = createHttpEdge({ catalog: new Catalog(s), store: s, synced: () => true, access, log: createLogger({ component: 'store-serve', data: opts.data }) });
        try {
          await listenOn(server, { host: opts.host, port: checkPort('--http-port', Number(opts.httpPort)) }, 'HTTP');
          const { port } = server.address() as AddressInfo;
          const base = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
          printJson({ event: 'ready', http: `http://${base}:${port}` });
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
        } finally {
          server.closeAllConnections();
          server.close();
          s.close();
        }
      }),
    );
}

function registerVerify(store: Command): void {
  store
    .command('verify')
    .description('read every block of every content from a data directory (read-only) and check its hash')
    .requiredOption('--data <dir>', "the node's data directory")
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: { data: string; json?: boolean }) => {
        const s = openReadOnly(opts.data);
        try {
          const report = await verifyStore(s);
          const ok = report.unreadable === 0;
          if (opts.json) printJson({ ok, ...report });
          else process.stdout.write(`${report.verified} of ${report.blocks} blocks verified (${formatBytes(report.bytes)}), ${report.missing} missing, ${report.unreadable} unreadable or corrupt; ${report.complete} of ${report.contents} contents complete\n`);
          if (!ok) process.exitCode = 1;
        } finally {
          s.close();
        }
      }),
    );
}
