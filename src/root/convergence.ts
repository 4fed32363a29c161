/**
 * Convergence of one content over the network, computed from what nodes report: how many
 * qualified nodes hold all of it, part of it, or none; how long until all do (from their
 * recent download rates); and which are stuck and why. Pure: the root passes the reports
 * and the clock.
 */
import type { Attributes } from '../core/attributes.js';
import type { HoldingReport } from './root-registry.js';

export interface NodeView {
  nodeId: string;
  name: string;
  attrs: Attributes;
  qualified: boolean;
  online: boolean;
  report: HoldingReport | undefined;
  /**
   * Since when (ms) this node should have reported on the content even without a report
   * yet: a prefetching member, from the later of its join and the content's publication.
   * Undefined when no report is due (an on-demand node, one that left).
   */
  reportDueSince?: number;
}

export type StuckWhy = 'refused' | 'no-space' | 'no-peer' | 'error' | 'window' | 'offline' | 'stalled';

export interface StuckNode {
  nodeId: string;
  name: string;
  reason: StuckWhy;
  detail: string;
}

export interface Convergence {
  qualified: number;
  complete: number;
  partial: number;
  none: number;
  /** Bytes still to be fetched by qualified nodes that are online. */
  remainingBytes: number;
  /** Sum of the recent download rates of nodes still fetching, bytes per second. */
  rateBps: number;
  /** Seconds until every online qualified node is complete; null when nothing moves. */
  etaSeconds: number | null;
  converged: boolean;
  stuck: StuckNode[];
}

/** A node fetching but silent for this long is reported as stalled. */
export const STALL_MS = 30_000;
/** A rate older than this no longer counts toward the ETA. */
const RATE_FRESH_MS = 5_000;

const KNOWN: readonly string[] = ['refused', 'no-space', 'no-peer', 'error', 'window'];

export function computeConvergence(size: number, nodes: readonly NodeView[], now: number): Convergence {
  const out: Convergence = { qualified: 0, complete: 0, partial: 0, none: 0, remainingBytes: 0, rateBps: 0, etaSeconds: null, converged: false, stuck: [] };
  for (const n of nodes) {
    if (!n.qualified) continue;
    out.qualified++;
    const r = n.report;
    const have = Math.min(size, r?.haveBytes ?? 0);
    if (r?.complete) out.complete++;
    else if (have > 0) out.partial++;
    else out.none++;
    if (r?.complete) continue;
    const stuck = (reason: StuckWhy, detail: string) => out.stuck.push({ nodeId: n.nodeId, name: n.name, reason, detail });
    if (!n.online) {
      stuck('offline', r && now - r.at > STALL_MS ? `not in the control tree (no heartbeat); last report ${Math.round((now - r.at) / 1000)} s ago` : 'not in the control tree (disconnected, or no heartbeat)');
      continue;
    }
    out.remainingBytes += size - have;
    if (r && now - r.at <= RATE_FRESH_MS) out.rateBps += r.rate;
    if (r?.stuck) stuck(KNOWN.includes(r.stuck) ? (r.stuck as StuckWhy) : 'error', r.stuckDetail ?? '');
    else if (r && now - r.at > STALL_MS) stuck('stalled', `no progress for ${Math.round((now - r.at) / 1000)} s`);
    // In the tree (heartbeating) yet silent on this content: its download never started or is wedged.
    else if (!r && n.reportDueSince !== undefined && now - n.reportDueSince > STALL_MS) stuck('stalled', `in the control tree but no progress report for ${Math.round((now - n.reportDueSince) / 1000)} s`);
  }
  out.converged = out.qualified > 0 && out.complete === out.qualified;
  out.etaSeconds = out.remainingBytes === 0 ? 0 : out.rateBps > 0 ? Math.ceil(out.remainingBytes / out.rateBps) : null;
  return out;
}
