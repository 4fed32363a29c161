/**
 * `canopy top`: a live view of the whole network from the root's overview: every node
 * with its attributes, health and volumes; every content with how many qualified nodes
 * hold it, the bytes held, the rate and the estimated finish; uploads in progress.
 */
import type { Command } from 'commander';
import { formatAttributes } from '../../core/attributes.js';
import { CanopyError } from '../../core/errors.js';
import { formatBytes } from '../../core/sizes.js';
import { action, printJson } from '../output.js';
import { liveLoop } from '../live-loop.js';
import { formatEta, RateTracker } from '../rates.js';
import { Screen } from '../screen.js';
import { apiClient, apiTokenFileOption, apiUrlOption } from '../api-options.js';

interface StoreView {
  volumes: { id: string; bytes: number }[];
  bytes: number;
}

export interface OverviewView {
  at: number;
  /** `leader`: a root on PostgreSQL (several roots may share it; this one leads with this fence). */
  root: { name: string; api: string; store: StoreView; leader?: { role: string; fence: number } };
  nodes: { name: string; attrs: Record<string, string>; health: string; store: StoreView | null }[];
  contents: { contentId: string; name: string; size: number; criteria: string; state?: string; version?: number; versions?: number; nodes: { qualified: boolean; haveBytes: number; complete: boolean }[] }[];
  /** Out-of-service contents beyond those in `contents` (history, paged). */
  history?: { next: string | null; total: number };
  uploads: { contentId: string; name: string; size: number; verifiedBytes: number; complete: boolean }[];
}

function cols(values: string[], widths: number[]): string {
  return values.map((v, i) => (i === values.length - 1 ? v : v.slice(0, widths[i]! - 1).padEnd(widths[i]!))).join('');
}

function volumes(store: StoreView | null): string {
  return store ? store.volumes.map((v) => `${v.id} ${formatBytes(v.bytes)}`).join('  ') : '';
}

export function formatTop(o: OverviewView, rates: RateTracker): string[] {
  const W = [18, 26, 13, 12];
  const lines = [`canopy top · ${o.root.api} · ${o.nodes.length + 1} nodes · ${new Date(o.at).toISOString().slice(11, 19)}`, '', cols(['NODE', 'ATTRIBUTES', 'HEALTH', 'STORED', 'VOLUMES'], W)];
  const lead = o.root.leader ? `leader, fence ${o.root.leader.fence}` : '';
  lines.push(cols([`${o.root.name} (root)`, lead, 'up', formatBytes(o.root.store.bytes), volumes(o.root.store)], W));
  for (const n of o.nodes) lines.push(cols([n.name, formatAttributes(n.attrs) || '—', n.health, n.store ? formatBytes(n.store.bytes) : '?', volumes(n.store)], W));
  const C = [20, 8, 11, 11, 20, 10, 13, 13];
  lines.push('', cols(['CONTENT', 'VERSION', 'STATE', 'SIZE', 'CRITERIA', 'COMPLETE', 'HELD', 'RATE', 'ETA'], C));
  // Live contents first; withdrawn and expired ones (the recent history) after, with no rate or estimate.
  const ordered = [...o.contents].sort((a, b) => Number((a.state ?? 'live') !== 'live') - Number((b.state ?? 'live') !== 'live'));
  for (const c of ordered) {
    const q = c.nodes.filter((n) => n.qualified);
    const held = q.reduce((s, n) => s + n.haveBytes, 0);
    const version = c.version ? `v${c.version}/${c.versions}` : '';
    const state = c.state ?? 'live';
    if (state !== 'live') {
      lines.push(cols([c.name, version, state, formatBytes(c.size), c.criteria, '—', formatBytes(held), '', 'out of service'], C));
      continue;
    }
    const rate = rates.update(c.contentId, held, o.at);
    lines.push(cols([c.name, version, state, formatBytes(c.size), c.criteria, `${q.filter((n) => n.complete).length}/${q.length}`, formatBytes(held), `${formatBytes(Math.round(rate))}/s`, formatEta(q.length * c.size - held, rate)], C));
  }
  if (o.contents.length === 0) lines.push('(nothing published yet)');
  const shownHistory = o.contents.filter((c) => (c.state ?? 'live') !== 'live').length;
  if (o.history && o.history.total > shownHistory) lines.push(`(${o.history.total - shownHistory} older withdrawn or expired contents: canopy ls --history)`);
  const pending = o.uploads.filter((u) => !u.complete);
  if (pending.length > 0) {
    lines.push('', 'UPLOADS IN PROGRESS');
    for (const u of pending) lines.push(`  ${u.name}  ${formatBytes(u.verifiedBytes)} of ${formatBytes(u.size)} verified at the origin`);
  }
  return lines;
}

export function registerTop(program: Command): void {
  program
    .command('top')
    .description('live view of every node and content in the network (Ctrl-C to leave)')
    .addOption(apiUrlOption())
    .addOption(apiTokenFileOption())
    .option('--interval <ms>', 'refresh period', '1000')
    .option('--once', 'print one frame and exit')
    .option('--json', 'print the overview once as JSON')
    .action(
      action(async (opts: { to: string; interval: string; once?: boolean; json?: boolean }) => {
        const api = apiClient(opts);
        const interval = Number(opts.interval);
        if (!Number.isInteger(interval) || interval < 100) throw new CanopyError('ERR_USAGE', `--interval: "${opts.interval}" must be an integer of at least 100 (milliseconds)`);
        if (opts.json) return printJson(await api.get<OverviewView>('/api/overview'));
        const screen = new Screen();
        const rates = new RateTracker();
        await liveLoop(interval, async (interrupted) => {
          if (interrupted) return true;
          screen.draw(formatTop(await api.get<OverviewView>('/api/overview'), rates));
          return opts.once === true;
        });
      }),
    );
}
