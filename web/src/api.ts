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
}

export interface ContentView {
  contentId: string;
  name: string;
  size: number;
  blocks: number;
  criteria: string;
  nodes: SpreadNode[];
}

export interface UploadView {
  contentId: string;
  name: string;
  size: number;
  verifiedBytes: number;
  complete: boolean;
}

export interface Overview {
  at: number;
  root: { nodeId: string; name: string; attrs: Record<string, string>; store: NodeView['store'] };
  nodes: NodeView[];
  contents: ContentView[];
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

export function formatAttrs(attrs: Record<string, string>): string {
  return Object.entries(attrs)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(' ');
}
