/**
 * Serving bytes of a content over HTTP: the whole content or one file of a directory
 * content (a range of its virtual file), with single and multiple byte ranges (206,
 * multipart/byteranges, 416), ETag and conditional requests, streamed with backpressure
 * and cut when the content is withdrawn. Shared by every route of the HTTP edge.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import type { Catalog } from '../../catalog/catalog.js';
import type { Logger } from '../../core/logger.js';
import type { BlockStore } from '../../store/block-store.js';
import type { BlockSource } from '../../vfile/block-fetcher.js';
import type { BlockCache } from '../../vfile/block-cache.js';
import type { ReadAheadBudget } from '../../vfile/read-ahead-budget.js';
import type { SequentialReads } from '../../vfile/sequential-reads.js';
import { plain, VirtualFile, type Slice } from '../../vfile/virtual-file.js';
import { requestUrl } from '../../http/http-util.js';
import { mediaTypeOf } from '../media-type.js';
import { evaluateConditions } from './conditional.js';
import { planMultipart } from './multipart.js';
import { coalesce, parseRange } from './range.js';
import { abortOnClose, sendAfterFirst, sendSlices, whileLive } from '../stream-body.js';
import type { EdgeAccess } from '../../security/content-access.js';
import type { AskRoot } from '../oci/pull-through-serve.js';

export interface HttpEdgeDeps {
  catalog: Catalog;
  /** False until the node has learnt the catalog (withdrawals included) from the network. */
  synced: () => boolean;
  /**
   * Per-content access: public, or signed URLs (src/security/content-access.ts). Required, so
   * that every server over a node's data (the node's edge, `canopy store serve`) applies it.
   */
  access: EdgeAccess;
  store: BlockStore;
  log: Logger;
  /** Fetches missing blocks on demand; absent, only fully local ranges are served. */
  source?: BlockSource;
  /** Whether this node may fetch a content's blocks (it meets the criteria); holders would refuse otherwise. */
  mayFetch?: (manifest: Manifest) => boolean;
  /** Verified blocks shared between concurrent readers (HTTP and FTP). */
  cache?: BlockCache;
  /** Where recent reads ended, to read ahead for sequential range readers (HLS players). */
  sequential?: SequentialReads;
  /** The node's budget for blocks read into memory past each reader's next one (vfile/read-ahead-budget.ts). */
  aheadBudget?: ReadAheadBudget;
  /** Registry pull-through: asks the root for an image part this node does not hold (edge/oci/pull-through-serve.ts). */
  pull?: AskRoot;
}

export function openFile(deps: HttpEdgeDeps, contentId: string, manifest: Manifest): VirtualFile {
  const fetchable = deps.source !== undefined && (deps.mayFetch?.(manifest) ?? true);
  return new VirtualFile(manifest, deps.store, { contentId, source: fetchable ? deps.source : undefined, cache: deps.cache, sequential: deps.sequential, aheadBudget: deps.aheadBudget });
}

/** What one response serves: the whole content, or one file of a directory content (a range of its bytes). */
export interface ServedPart {
  offset: number;
  size: number;
  name: string;
  mediaType: string;
  etag: string;
}

export async function serveContent(deps: HttpEdgeDeps, req: IncomingMessage, res: ServerResponse, contentId: string, manifest: Manifest, part: ServedPart = { offset: 0, size: manifest.size, name: manifest.name, mediaType: manifest.mediaType, etag: `"${contentId}"` }): Promise<void> {
  const file = openFile(deps, contentId, manifest);
  const byName = requestUrl(req).pathname.startsWith('/files/');
  const { etag, size, offset } = part;
  const lastModified = Date.parse(manifest.createdAt);
  const headers: Record<string, string | number> = {
    'content-type': mediaTypeOf(part.name, part.mediaType),
    'accept-ranges': 'bytes',
    etag,
    'last-modified': new Date(lastModified).toUTCString(),
    // A name moves to each new version, so caches revalidate it; a content id names immutable bytes.
    // A content behind signed URLs must not sit in shared caches, where anyone could get it.
    'cache-control': `${deps.access.mode(contentId) === 'signed' ? 'private' : 'public'}, ${byName ? 'no-cache' : 'max-age=31536000, immutable'}`,
    'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(part.name)}`,
  };
  const h = req.headers;
  const decision = evaluateConditions({ ifMatch: h['if-match'], ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'], ifUnmodifiedSince: h['if-unmodified-since'], ifRange: str(h['if-range']) }, { etag, lastModified });
  if (decision.kind !== 'serve') {
    res.writeHead(decision.kind === 'not-modified' ? 304 : 412, decision.kind === 'not-modified' ? headers : { etag });
    res.end();
    return;
  }
  const range = decision.useRange ? parseRange(h.range, size) : ({ kind: 'ignore' } as const);
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const ranges = range.kind === 'ranges' ? coalesce(range.ranges) : [{ start: 0, end: size - 1 }];
  if (size > 0 && !ranges.every((r) => file.canServe(offset + r.start, offset + r.end))) throw new CanopyError('ERR_NOT_HELD', `this node does not hold all of ${part.name} and may not fetch it`);
  const signal = abortOnClose(res);
  if (ranges.length > 1) {
    const plan = planMultipart(ranges, size, String(headers['content-type']));
    res.writeHead(206, { ...headers, 'content-type': plan.contentType, 'content-length': plan.length });
    if (req.method === 'HEAD') return void res.end();
    await sendSlices(res, whileLive(multipartBody(file, plan, offset, signal), () => deps.catalog.isLive(contentId)));
    return;
  }
  const { start, end } = ranges[0]!;
  const status = range.kind === 'ranges' ? 206 : 200;
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  headers['content-length'] = size === 0 ? 0 : end - start + 1;
  if (req.method === 'HEAD' || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  await sendAfterFirst(res, status, headers, whileLive(file.slices(offset + start, offset + end, signal), () => deps.catalog.isLive(contentId)));
}

async function* multipartBody(file: VirtualFile, plan: ReturnType<typeof planMultipart>, offset: number, signal: AbortSignal): AsyncGenerator<Slice> {
  for (const part of plan.parts) {
    yield plain(part.head);
    yield* file.slices(offset + part.range.start, offset + part.range.end, signal);
  }
  yield plain(plan.tail);
}

function str(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
