/**
 * The pull side of the OCI Distribution API on the HTTP edge, so every node is a registry
 * mirror: `GET /v2/`, `HEAD|GET /v2/<name>/manifests/<tag|digest>` and
 * `HEAD|GET /v2/<name>/blobs/<digest>` (single byte ranges), with containerd's `?ns=<registry>`.
 * Bytes come from the image's content through the virtual file (local blocks, or fetched
 * from peers on demand and verified), so what a client receives was checked against the
 * signed manifest; the blob's digest is the registry's promise on top. Push is not served.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCanopyError } from '../../core/errors.js';
import { isDigest, isRegistryHost, isRepository, isTag, splitDistributionPath } from '../../registry/reference.js';
import { abortOnClose, prepend, sendSlices, whileLive } from '../stream-body.js';
import { parseRange } from '../http/range.js';
import type { VirtualFile } from '../../vfile/virtual-file.js';
import type { FoundBlob, ImageFinder } from './image-finder.js';
import { API_VERSION_HEADER, sendOciError } from './oci-errors.js';
import { servePulled, type AskRoot } from './pull-through-serve.js';
import { resumedRead } from './resumed-read.js';

export interface DistributionDeps {
  images: ImageFinder;
  /** False until the node has learnt the catalog: nothing is served before. */
  synced: () => boolean;
  isLive: (contentId: string) => boolean;
  open: (found: FoundBlob) => VirtualFile;
  /** Pull-through: asks the root for what this node does not hold; absent, a miss is a 404. */
  pull?: AskRoot;
}

export function isDistributionPath(pathname: string): boolean {
  return pathname === '/v2' || pathname.startsWith('/v2/');
}

export async function serveDistribution(deps: DistributionDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendOciError(res, 'UNSUPPORTED', `${req.method} is not supported: this mirror is read-only (push to the upstream registry)`, { allow: 'GET, HEAD' });
  if (!deps.synced()) return sendOciError(res, 'UNAVAILABLE', 'this node is still learning the catalog from the network', { 'retry-after': '1' });
  const path = splitDistributionPath(url.pathname);
  if (path.kind === 'base') {
    res.writeHead(200, { ...API_VERSION_HEADER, 'content-type': 'application/json', 'content-length': 3 });
    res.end(req.method === 'HEAD' ? undefined : '{}\n');
    return;
  }
  if (path.kind === 'other') return sendOciError(res, 'UNSUPPORTED', `${url.pathname} is not part of the pull API this mirror serves`);
  const { repository, reference } = path;
  if (!isRepository(repository)) return sendOciError(res, 'NAME_INVALID', `"${repository.slice(0, 300)}" is not a repository name`);
  const ns = url.searchParams.get('ns') ?? undefined;
  if (ns !== undefined && !isRegistryHost(ns)) return sendOciError(res, 'NAME_INVALID', `ns "${ns.slice(0, 300)}" is not a registry host`);
  const byDigest = isDigest(reference);
  if (path.kind === 'blobs' && !byDigest) return sendOciError(res, 'DIGEST_INVALID', `"${reference.slice(0, 300)}" is not a sha256 digest`);
  if (path.kind === 'manifests' && !byDigest && !isTag(reference)) return sendOciError(res, reference.includes(':') ? 'DIGEST_INVALID' : 'MANIFEST_INVALID', `"${reference.slice(0, 300)}" is neither a tag nor a sha256 digest`);
  const found = byDigest ? await deps.images.byDigest(repository, ns, reference, path.kind === 'manifests') : await deps.images.byTag(repository, ns, reference);
  // A blob the root fetches for other nodes first is served from its content once this node learns it.
  // Patiently: the content was published moments ago and the swarm is bringing its blocks, so
  // a first block not here in time means "look again", not "unknown" (the client has waited).
  const later = async () => {
    const now = await deps.images.byDigest(repository, ns, reference, false);
    return now !== undefined && (await serveBlob(deps, req, res, now, false, true));
  };
  if (!found && deps.pull) return servePulled(deps.pull, req, res, { ...(ns !== undefined ? { registry: ns } : {}), repository, reference, blob: path.kind === 'blobs' }, later);
  if (!found) {
    const code = path.kind === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN';
    return sendOciError(res, code, `${repository}${byDigest ? '@' : ':'}${reference} is not held by this mirror${ns ? ` for ${ns}` : ''}`);
  }
  await serveBlob(deps, req, res, found, path.kind === 'manifests');
}

/** Serves a blob from its content; false (nothing sent) when `patient` and its first block is not here in time. */
async function serveBlob(deps: DistributionDeps, req: IncomingMessage, res: ServerResponse, found: FoundBlob, manifest: boolean, patient = false): Promise<boolean> {
  const { blob } = found;
  const headers: Record<string, string | number> = {
    ...API_VERSION_HEADER,
    'content-type': manifest ? blob.mediaType : 'application/octet-stream',
    'docker-content-digest': blob.digest,
    etag: `"${blob.digest}"`,
    'accept-ranges': 'bytes',
    'cache-control': 'public, max-age=31536000, immutable',
  };
  // Several ranges are not used by registry clients: the whole blob is sent, as RFC 9110 allows.
  const parsed = manifest ? ({ kind: 'ignore' } as const) : parseRange(req.headers.range, blob.size);
  if (parsed.kind === 'unsatisfiable') {
    sendOciError(res, 'RANGE_INVALID', `range ${req.headers.range} is outside the ${blob.size} bytes of ${blob.digest}`, { 'content-range': `bytes */${blob.size}` });
    return true;
  }
  const range = parsed.kind === 'ranges' && parsed.ranges.length === 1 ? parsed.ranges[0]! : { start: 0, end: blob.size - 1 };
  const partial = parsed.kind === 'ranges' && parsed.ranges.length === 1;
  if (partial) headers['content-range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
  headers['content-length'] = blob.size === 0 ? 0 : range.end - range.start + 1;
  const status = partial ? 206 : 200;
  if (req.method === 'HEAD' || blob.size === 0) {
    res.writeHead(status, headers);
    res.end();
    return true;
  }
  const file = deps.open(found);
  if (!file.canServe(blob.offset + range.start, blob.offset + range.end)) {
    sendOciError(res, 'BLOB_UNKNOWN', `${blob.digest} is not held here and this node may not fetch it`);
    return true;
  }
  const signal = abortOnClose(res);
  const body = resumedRead((from) => whileLive(file.slices(from, blob.offset + range.end, signal), () => deps.isLive(found.contentId)), blob.offset + range.start, signal, patient ? PATIENT_TRIES : undefined);
  let first;
  try {
    // Read before the status line, so a blob that cannot be had is a clean error the client can fall back on.
    first = await body.next();
  } catch (err) {
    if (patient && isCanopyError(err, 'ERR_TIMEOUT')) return false;
    if (isCanopyError(err, 'ERR_TIMEOUT') || isCanopyError(err, 'ERR_NOT_HELD')) {
      sendOciError(res, 'BLOB_UNKNOWN', `${blob.digest} cannot be had from this mirror now: ${(err as Error).message}`);
      return true;
    }
    throw err;
  }
  res.writeHead(status, headers);
  await sendSlices(res, prepend(first, body));
  return true;
}

/** A blob being followed has waited for the whole fetch already: a stalled block mid-body is given longer (tries × the block deadline). */
const PATIENT_TRIES = 10;
