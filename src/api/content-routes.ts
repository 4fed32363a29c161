/**
 * Routes over contents and members: the node itself, the contents known here, a content's
 * spread over the network, and publishing a request body (root only).
 */
import type { IncomingMessage } from 'node:http';
import { parseCriteria, type Criteria } from '../core/criteria.js';
import { parsePlacement } from '../core/placement.js';
import { CanopyError } from '../core/errors.js';
import { isValidContentName, type Manifest, type PrefetchPolicy } from '../core/manifest.js';
import { formatWindow, parseWindow } from '../swarm/prefetch-window.js';
import type { Catalog, Holding } from '../catalog/catalog.js';
import type { Logger } from '../core/logger.js';
import { sendJson } from '../http/http-util.js';
import { readJsonBody } from '../http/http-util.js';
import { parseAccessMode, type AccessMode } from '../security/content-access.js';
import { parseTtl } from '../security/join-token.js';
import { PUBLISH_MEDIA_TYPE } from '../ingest/upload-format.js';
import type { UploadBody } from '../ingest/receive-upload.js';
import { takenBodyOf } from '../http/taken-body.js';
import type { Route } from './router.js';
import { lifecycleFields, type LifecycleRootApi } from './lifecycle-routes.js';
import * as S from './schemas.js';
import { DEFAULT_HISTORY, historyLimit, historyPage, liveContents, MAX_HISTORY, type CatalogEntry } from '../catalog/catalog-views.js';

export interface PublishRequest {
  name: string;
  criteria: Criteria;
  blockSize: number | undefined;
  /** 'cdc': content-defined blocks (FastCDC) averaging blockSize. */
  chunking?: 'fixed' | 'cdc';
  /** Policy: ISO time after which the content is out of service everywhere. */
  expires?: string;
  /** Policy: background prefetch only in a local-time window and/or at a rate. */
  prefetch?: PrefetchPolicy;
  /** `full` (default), `prefix:<percent>` or `on-demand`. */
  placement?: string | undefined;
  /** Who may fetch it from the edge servers: anyone, or holders of a signed URL. */
  access: AccessMode;
}

/** Both publish paths end in a manifest whose publisher key the root must have authorised (ERR_PUBLISHER_NOT_AUTHORISED). */
export interface RootApi extends LifecycleRootApi {
  /** A raw upload: the root spools, analyses, cuts and signs it with its own key. */
  publish(body: AsyncIterable<Buffer>, request: PublishRequest): Promise<{ contentId: string; manifest: Manifest; warnings?: readonly string[] }>;
  /** Blocks and a manifest signed by the publisher (see ingest/upload-format.ts). */
  publishSigned(body: UploadBody, access: AccessMode): Promise<{ contentId: string; manifest: Manifest }>;
  /** Throws ERR_PUBLISHER_NOT_AUTHORISED unless this publisher key may publish (lets a signed upload be refused before its blocks). */
  checkPublisher(key: string): void;
  /** Whether the root holds a block (SHA-256 hex): a retried publish sends what it holds as `H` frames only. */
  holdsBlock(hash: string): boolean;
  status(contentId: string): unknown;
  nodes(): unknown[];
  /** A signed URL query (`expires=…&sig=…`) for a content, valid on every node. */
  signedUrl(contentId: string, ttlSeconds: number): { expiresAt: number; query: string };
}

export interface ContentRoutesDeps {
  info: () => Record<string, unknown>;
  catalog: Catalog;
  root: RootApi | undefined;
  log: Logger;
  /** A locally ingested content kept although this node does not meet its criteria (src/node/owned-outside-criteria.ts). */
  keptOutsideCriteria?: (contentId: string) => boolean;
}

export function contentSummary(contentId: string, manifest: Manifest, holding?: Holding & { keptOutsideCriteria?: boolean }): Record<string, unknown> {
  return {
    contentId,
    name: manifest.name,
    size: manifest.size,
    mediaType: manifest.mediaType,
    analyser: manifest.analyser,
    linear: manifest.linear,
    tracks: manifest.tracks.length,
    holes: manifest.holes.length,
    blockSize: manifest.blockSize,
    blockSizeReason: manifest.blockSizeReason,
    blocks: manifest.blocks.length,
    publisher: manifest.publisher,
    criteria: manifest.criteria,
    placement: manifest.placement,
    origin: manifest.origin,
    createdAt: manifest.createdAt,
    ...(holding ? { local: holding } : {}),
  };
}

function isSignedPublishType(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim() === PUBLISH_MEDIA_TYPE;
}

/** A signed publish upload (POST /api/contents with the publish media type): admin-api.ts reads its body into a reused buffer. */
export function isSignedPublish(req: IncomingMessage): boolean {
  return req.method === 'POST' && new URL(req.url ?? '/', 'http://x').pathname === '/api/contents' && isSignedPublishType(req);
}

export function requireRoot<T>(root: T | undefined): T {
  if (!root) throw new CanopyError('ERR_USAGE', 'this node is not the root: send this request to the root node');
  return root;
}

function findContent(catalog: Catalog, ref: string): { contentId: string; manifest: Manifest } {
  const found = catalog.resolve(ref);
  if (!found) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content "${ref}" is known here`);
  return found;
}

export function contentRoutes(deps: ContentRoutesDeps): Route[] {
  const { catalog } = deps;
  const tag = 'contents';
  return [
    { method: 'GET', path: '/api/node', tag: 'nodes', summary: 'This node: id, attributes, addresses, store usage per volume', response: S.NodeInfo, handler: () => deps.info() },
    { method: 'GET', path: '/api/nodes', tag: 'nodes', summary: 'Members of the network (root)', response: S.Members, handler: () => ({ nodes: requireRoot(deps.root).nodes(), uptimeSeconds: Math.floor(process.uptime()) }) },
    {
      method: 'GET',
      path: '/api/contents',
      tag,
      summary: 'Live contents known here, with what this node holds of each, then the most recent withdrawn or expired ones (history, newest first, paged); with state=history only the history page',
      query: { state: 'history: only withdrawn and expired contents', limit: `history entries (default ${DEFAULT_HISTORY}, at most ${MAX_HISTORY})`, cursor: 'the `history.next` of the previous page' },
      response: S.ContentList,
      handler: ({ url }) => {
        const summary = (c: CatalogEntry) => ({ ...contentSummary(c.contentId, c.manifest, catalog.holding(c.contentId)), ...lifecycleFields(catalog, c.contentId, c.manifest) });
        const page = historyPage(catalog, historyLimit(url.searchParams.get('limit')), url.searchParams.get('cursor'));
        const history = { next: page.next, total: page.total };
        if (url.searchParams.get('state') === 'history') return { contents: page.entries.map(summary), history };
        return { contents: [...liveContents(catalog).map(summary), ...page.entries.map(summary)], history };
      },
    },
    {
      method: 'POST',
      path: '/api/contents',
      tag,
      summary: `Publish (root): with content type ${PUBLISH_MEDIA_TYPE}, blocks and a manifest the publisher signed; otherwise the raw bytes, which the root analyses and signs`,
      response: S.ContentSummary,
      status: 201,
      query: {
        name: 'content name (raw upload; required)',
        criteria: 'criteria expression (raw upload; default *)',
        blockSize: 'block size in bytes (raw upload; default chosen per content; with chunking=cdc: the average, a power of two)',
        chunking: 'raw upload: fixed (default) or cdc (content-defined blocks: new versions move only what changed)',
        expires: 'raw upload: ISO time after which the content is out of service everywhere',
        window: 'raw upload: HH:MM-HH:MM: nodes prefetch only in this local-time window',
        rate: 'raw upload: bytes per second: nodes prefetch at most this fast',
        placement: 'full (default), prefix:<1..100> or on-demand (raw upload)',
        access: 'public (default) or signed: edge servers then need a signed URL',
        publisher: 'signed upload: the publisher key that signs the manifest, so an unauthorised key is refused before any block is sent (the manifest is checked anyway)',
      },
      body: 'frames of blocks then the signed manifest (see docs/PROTOCOL.md), or the bytes of the content',
      handler: async ({ req, res, url }) => {
        const root = requireRoot(deps.root);
        const signed = isSignedPublishType(req);
        const announced = url.searchParams.get('publisher');
        if (signed && announced !== null) root.checkPublisher(announced);
        const result = signed ? await root.publishSigned(takenBodyOf(req) ?? req, parseAccessMode(url.searchParams.get('access') ?? 'public')) : await publish(root, req, url);
        const warnings = 'warnings' in result ? (result.warnings ?? []) : [];
        deps.log.info('published', { contentId: result.contentId, name: result.manifest.name, size: result.manifest.size, publisher: result.manifest.publisher, warnings });
        sendJson(res, 201, { ...contentSummary(result.contentId, result.manifest), ...lifecycleFields(catalog, result.contentId, result.manifest), warnings });
      },
    },
    {
      method: 'GET',
      path: '/api/blocks/:hash',
      tag,
      summary: 'Whether the root holds a block (SHA-256, 64 hex digits): a publish names a held block instead of sending it',
      paramSchemas: { hash: S.hash },
      response: S.BlockHeld,
      handler: ({ params }) => {
        const hash = params.hash!;
        if (!/^[0-9a-f]{64}$/.test(hash)) throw new CanopyError('ERR_USAGE', `block hash "${hash.slice(0, 80)}" must be 64 lowercase hex digits`);
        return { hash, held: requireRoot(deps.root).holdsBlock(hash) };
      },
    },
    {
      method: 'GET',
      path: '/api/contents/:ref',
      tag,
      summary: "A content's manifest summary and local holding (ref: id, 8+ hex prefix or name)",
      response: S.ContentSummary,
      handler: ({ params }) => {
        const c = findContent(catalog, params.ref!);
        const local = { ...catalog.holding(c.contentId), ...(deps.keptOutsideCriteria?.(c.contentId) ? { keptOutsideCriteria: true } : {}) };
        return { ...contentSummary(c.contentId, c.manifest, local), ...lifecycleFields(catalog, c.contentId, c.manifest) };
      },
    },
    { method: 'GET', path: '/api/contents/:ref/status', tag, summary: 'Which nodes qualify and how much each holds (root)', response: S.ContentStatus, handler: ({ params }) => requireRoot(deps.root).status(findContent(catalog, params.ref!).contentId) },
    { method: 'GET', path: '/api/contents/:ref/manifest', tag, summary: 'The full manifest', handler: ({ params }) => findContent(catalog, params.ref!).manifest },
    {
      method: 'POST',
      path: '/api/contents/:ref/signed-url',
      tag,
      status: 201,
      summary: 'A signed URL path with an expiry for a content published with access=signed (root, publish)',
      body: '{"ttl": "1h"}',
      handler: async ({ req, res, params }) => {
        const c = findContent(catalog, params.ref!);
        const ttl = parseTtl(String((await readJsonBody(req)).ttl ?? '1h'));
        const { expiresAt, query } = requireRoot(deps.root).signedUrl(c.contentId, Math.ceil(ttl / 1000));
        sendJson(res, 201, { contentId: c.contentId, expiresAt, path: `/content/${c.contentId}/${encodeURIComponent(c.manifest.name)}?${query}` });
      },
    },
  ];
}

async function publish(root: RootApi, req: IncomingMessage, url: URL): Promise<{ contentId: string; manifest: Manifest; warnings?: readonly string[] }> {
  const name = url.searchParams.get('name');
  if (!name || !isValidContentName(name)) throw new CanopyError('ERR_USAGE', 'publish needs ?name= of 1-255 characters without / \\ or NUL');
  const criteria = parseCriteria(url.searchParams.get('criteria') ?? '*');
  const bs = url.searchParams.get('blockSize');
  const blockSize = bs === null ? undefined : Number(bs);
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 4096 || blockSize > 64 * 2 ** 20)) {
    throw new CanopyError('ERR_USAGE', `blockSize ${bs} must be an integer between 4096 and 67108864`);
  }
  const chunking = url.searchParams.get('chunking') ?? undefined;
  if (chunking !== undefined && chunking !== 'fixed' && chunking !== 'cdc') throw new CanopyError('ERR_USAGE', `chunking "${chunking}" must be fixed or cdc`);
  if (chunking === 'cdc' && blockSize !== undefined && (blockSize & (blockSize - 1)) !== 0) throw new CanopyError('ERR_USAGE', `with cdc chunking, blockSize ${blockSize} (the average) must be a power of two`);
  const expires = url.searchParams.get('expires') ?? undefined;
  if (expires !== undefined && Number.isNaN(Date.parse(expires))) throw new CanopyError('ERR_USAGE', `expires "${expires}" is not an ISO time`);
  const placement = url.searchParams.get('placement') ?? undefined;
  if (placement !== undefined) parsePlacement(placement);
  const access = parseAccessMode(url.searchParams.get('access') ?? 'public');
  return root.publish(req, { name, criteria, blockSize, chunking, expires, prefetch: prefetchPolicy(url), placement, access });
}

function prefetchPolicy(url: URL): PrefetchPolicy | undefined {
  const window = url.searchParams.get('window');
  const rateText = url.searchParams.get('rate');
  const rate = rateText === null ? undefined : Number(rateText);
  if (rate !== undefined && (!Number.isSafeInteger(rate) || rate <= 0)) throw new CanopyError('ERR_USAGE', `rate "${rateText}" must be a positive integer (bytes per second)`);
  if (window === null && rate === undefined) return undefined;
  return { ...(window === null ? {} : { window: formatWindow(parseWindow(window)) }), ...(rate === undefined ? {} : { rate }) };
}
