/**
 * The root's status of one content, as `canopy status` and the admin API show it: every
 * connected node with what it holds, what it fetched for this version and why
 * it is stuck; the convergence summary; and the version's place among its name's versions,
 * with the bytes it changed against the previous one (what an ideal update would move).
 */
import { matches, parseCriteria } from '../core/criteria.js';
import { storedBytes, type Manifest } from '../core/manifest.js';
import { computeConvergence, type Convergence, type NodeView } from './convergence.js';
import type { Member, RootRegistry } from './root-registry.js';
import type { Catalog, ContentState } from '../catalog/catalog.js';

export interface NodeStatusRow {
  nodeId: string;
  name: string;
  attrs: Record<string, string>;
  qualified: boolean;
  online: boolean;
  haveBlocks: number;
  haveBytes: number;
  complete: boolean;
  /** Bytes this node received from peers for this content (0 if it held every block already). */
  fetchedBytes: number;
  rateBps: number;
  stuck: string | null;
  stuckDetail: string | null;
  url: string | null;
}

export interface ContentStatusView {
  contentId: string;
  name: string;
  size: number;
  /** Bytes actually stored (holes excluded): what a complete node holds. */
  storedBytes: number;
  blocks: number;
  criteria: string;
  state: ContentState;
  expires: string | null;
  prefetch: { window?: string; rate?: number } | null;
  withdrawnAt: string | null;
  /** Why it was withdrawn (`expired` for an expiry), null while live. */
  withdrawnReason: string | null;
  version: number;
  versions: number;
  previous: string | null;
  /** Bytes of blocks this version has that the previous version did not. */
  changedBytes: number;
  /** Sum of fetchedBytes over nodes. */
  movedBytes: number;
  convergence: Convergence;
  nodes: NodeStatusRow[];
}

/** A member that joined this recently may not be in the root's rollups yet: it counts as in the tree. */
const JOIN_GRACE_MS = 10_000;

/**
 * `inTree` is the control tree's liveness (TreeLink.inTree): a member whose connection to
 * the root is still open but that the tree dropped (hung: no heartbeats) is offline, the
 * same fact `/api/tree` shows.
 */
export function contentStatus(catalog: Catalog, registry: RootRegistry, contentId: string, now: number, inTree: (nodeId: string) => boolean = () => true): ContentStatusView {
  const manifest = catalog.require(contentId);
  const criteria = parseCriteria(manifest.criteria);
  const live = (m: { nodeId: string; joinedAt: string }) => inTree(m.nodeId) || now - Date.parse(m.joinedAt) < JOIN_GRACE_MS;
  // A prefetching member owes a report from the later of its join and the publication (the root's clock bounds the publisher's).
  const published = Math.min(now, Date.parse(manifest.createdAt));
  const due = (m: Member) => (m.prefetch ? Math.max(Date.parse(m.joinedAt), published) : undefined);
  const path = `/content/${contentId}/${encodeURIComponent(manifest.name)}`;
  const reports = registry.holdingsOf(contentId);
  // One object per node, built once (at 10,000 members the copies were most of a status's time).
  const views: (NodeView & { url: string | null; member: boolean })[] = [];
  for (const m of registry.list()) {
    const attrs = m.attrs;
    views.push({ nodeId: m.nodeId, name: m.name, attrs, online: live(m), reportDueSince: due(m), member: true, url: m.http + path, qualified: matches(criteria, attrs, m.nodeId), report: reports?.get(m.nodeId) });
  }
  for (const d of registry.departed()) views.push({ nodeId: d.nodeId, name: d.name, attrs: d.attrs, online: false, member: false, url: null, qualified: matches(criteria, d.attrs, d.nodeId), report: reports?.get(d.nodeId) });
  // Qualified nodes first, then by name, so the view does not reshuffle as nodes come and go.
  views.sort(byQualifiedThenName);
  // `nodes` lists connected members (online false when the tree dropped them); departed
  // qualified nodes count in the convergence, where they show as stuck: offline.
  const nodes: NodeStatusRow[] = views.filter((v) => v.member).map(statusRow);
  const versions = catalog.versions(manifest.name);
  const mine = versions.findIndex((v) => v.contentId === contentId);
  const previous = mine > 0 ? versions[mine - 1]! : undefined;
  const changedBytes = bytesNotIn(manifest, previous?.manifest);
  return {
    contentId,
    name: manifest.name,
    size: manifest.size,
    storedBytes: storedBytes(manifest),
    blocks: manifest.blocks.length,
    criteria: manifest.criteria,
    state: catalog.state(contentId, now),
    expires: manifest.expires ?? null,
    prefetch: manifest.prefetch ?? null,
    withdrawnAt: catalog.withdrawal(contentId)?.at ?? null,
    withdrawnReason: catalog.withdrawal(contentId)?.reason ?? null,
    version: mine + 1,
    versions: versions.length,
    previous: previous?.contentId ?? null,
    changedBytes,
    // A content out of service has no holdings left; its moved bytes were kept when they went.
    movedBytes: registry.movedBytes(contentId) ?? nodes.reduce((s, n) => s + n.fetchedBytes, 0),
    convergence: computeConvergence(storedBytes(manifest), views, now),
    nodes,
  };
}

/**
 * Qualified first, then by name in code-unit order, then by id (names need not be unique).
 * Not `localeCompare`: at 10,000 members its collation made one status ~1 s of the root's
 * event loop (issue 18); an order that is the same on every host and Node version is all
 * the view needs.
 */
export function byQualifiedThenName(a: { qualified: boolean; name: string; nodeId: string }, b: { qualified: boolean; name: string; nodeId: string }): number {
  if (a.qualified !== b.qualified) return a.qualified ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

type NodeViewRow = NodeView & { url: string | null; report?: ReturnType<RootRegistry['holding']> };

/** One member's row of the status: what it reported holding of the content, zero before its first report. */
function statusRow(v: NodeViewRow): NodeStatusRow {
  return {
    nodeId: v.nodeId,
    name: v.name,
    attrs: v.attrs,
    qualified: v.qualified,
    online: v.online,
    haveBlocks: v.report?.haveBlocks ?? 0,
    haveBytes: v.report?.haveBytes ?? 0,
    complete: v.report?.complete ?? false,
    fetchedBytes: v.report?.fetchedBytes ?? 0,
    rateBps: Math.round(v.report?.rate ?? 0),
    stuck: v.report?.stuck ?? null,
    stuckDetail: v.report?.stuckDetail ?? null,
    url: v.url,
  };
}

/** Bytes of `manifest`'s distinct blocks that `previous` does not have: what a holder of the previous version must fetch. */
function bytesNotIn(manifest: Manifest, previous: Manifest | undefined): number {
  const before = new Set(previous?.blocks.map((b) => b.hash) ?? []);
  const seen = new Set<string>();
  let changed = 0;
  for (const b of manifest.blocks) {
    if (before.has(b.hash) || seen.has(b.hash)) continue;
    seen.add(b.hash);
    changed += b.length;
  }
  return changed;
}
