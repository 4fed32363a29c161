// Calls to the node's admin API (same origin); errors carry the API's code and message.
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string; details?: Record<string, unknown> } };
  if (!res.ok) throw new ApiError(body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? res.statusText, body.error?.details);
  return body as T;
}

export interface NodeView {
  nodeId: string;
  name: string;
  attrs: Record<string, string>;
  parent: string;
  health: 'up' | 'unreachable';
  joinedAt: string;
  http: string;
  store: { volumes: { id: string; path: string; bytes: number; blocks: number }[]; bytes: number; blocks: number } | null;
}

export interface SpreadNode {
  nodeId: string;
  name: string;
  qualified: boolean;
  haveBytes: number;
  haveBlocks: number;
  complete: boolean;
  /** Bytes this node received from peers for this content. */
  fetchedBytes: number;
  rateBps: number;
  stuck: string | null;
  stuckDetail: string | null;
}

export type ContentState = 'live' | 'withdrawn' | 'expired';

export interface StuckNode {
  nodeId: string;
  name: string;
  reason: 'refused' | 'no-space' | 'no-peer' | 'error' | 'window' | 'offline' | 'stalled';
  detail: string;
}

/** Qualified nodes holding all, part or none of a content, as the root computes it (src/tree/convergence.ts). */
export interface Convergence {
  qualified: number;
  complete: number;
  partial: number;
  none: number;
  remainingBytes: number;
  rateBps: number;
  etaSeconds: number | null;
  converged: boolean;
  stuck: StuckNode[];
}

/** One content as the overview lists it: the root's status of it (GET /api/contents/<ref>/status). */
export interface ContentView {
  contentId: string;
  name: string;
  size: number;
  storedBytes: number;
  blocks: number;
  criteria: string;
  state: ContentState;
  expires: string | null;
  withdrawnAt: string | null;
  withdrawnReason: string | null;
  prefetch: { window?: string; rate?: number } | null;
  version: number;
  versions: number;
  /** The content id of the version this one follows under the same name. */
  previous: string | null;
  changedBytes: number;
  movedBytes: number;
  convergence: Convergence;
  nodes: SpreadNode[];
}

export interface UploadView {
  contentId: string;
  name: string;
  size: number;
  verifiedBytes: number;
  complete: boolean;
}

/** Several roots on PostgreSQL: the lease as the answering root sees it (src/root/state/leadership.ts). */
export interface LeaderView {
  role: 'leader' | 'standby';
  self: string;
  fence: number;
  leader: { holder: string; api?: string; peer?: string } | null;
  roots?: { holder: string; api?: string; peer?: string; role: 'leader' | 'standby'; seenSecondsAgo: number }[];
}

export interface Overview {
  at: number;
  root: { nodeId: string; name: string; attrs: Record<string, string>; store: NodeView['store']; leader?: LeaderView };
  nodes: NodeView[];
  contents: ContentView[];
  /** Withdrawn and expired contents beyond those in `contents`: fetch older pages with `next`. */
  history?: { next: string | null; total: number };
  uploads: UploadView[];
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A duration in seconds, coarse as an ETA should be: 42 s, 7 min, 2.5 h. */
export function formatSeconds(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  return s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

export function formatAttrs(attrs: Record<string, string>): string {
  return Object.entries(attrs)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(' ');
}
