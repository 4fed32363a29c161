/**
 * The S3-compatible read API of a node (`--s3-port`, default 7404): ListBuckets,
 * ListObjectsV2 and ListObjects, HeadBucket, GetBucketLocation, HeadObject and GetObject
 * (one Range, conditional headers), with S3's XML errors. A bucket is a content (by name:
 * its newest live version; or by content id), a key a path within it. Public contents may
 * be read anonymously; a content published with `--access signed` needs a request signed
 * with SigV4 by an access key from `canopy api-token` with the read scope. Bytes come from
 * the same virtual files as the HTTP edge (missing blocks fetched on demand, verified).
 * The API is read-only: writes answer MethodNotAllowed.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHttp } from '../../http/node-http.js';
import { applyTimeouts, DEFAULT_TIMEOUTS } from '../../http/timeouts.js';
import type { Manifest } from '../../core/manifest.js';
import { evaluateConditions } from '../http/conditional.js';
import { openFile, SLOW_CLIENT_TIMEOUT_MS, type HttpEdgeDeps } from '../http/http-edge.js';
import { objectSpan } from './object-span.js';
import { abortOnClose, sendAfterFirst, whileLive } from '../stream-body.js';
import { parseListQuery, listPage } from './list-objects.js';
import { listedObjects, objectAt, type S3Object } from './s3-objects.js';
import { parseAddress } from './s3-address.js';
import { S3Error, toS3Error } from './s3-error.js';
import { errorXml, listBucketsXml, listObjectsXml, locationXml } from './s3-xml.js';
import { parseQuery, verifyRequest } from './sigv4.js';

export interface S3EdgeDeps extends HttpEdgeDeps {
  /** The S3 secret of an access key id, if it is one of this node's API tokens, and whether the token may read. */
  keys: (accessKeyId: string) => { secret: string; read: boolean } | undefined;
  /** Virtual-host style: `Host: <bucket>.<domain>`. */
  domain: string;
}

/** Sub-resources of buckets and objects that this read API does not serve. */
const UNSUPPORTED = ['acl', 'policy', 'versioning', 'versions', 'uploads', 'uploadId', 'tagging', 'cors', 'lifecycle', 'website', 'logging', 'notification', 'replication', 'encryption', 'object-lock', 'retention', 'legal-hold', 'torrent', 'attributes', 'select', 'restore', 'partNumber'];

/** Response headers a signed GetObject may override (`response-content-type=…`), as S3 allows. */
const OVERRIDES = ['content-type', 'content-language', 'expires', 'cache-control', 'content-disposition', 'content-encoding'];

interface Caller {
  /** An access key whose token grants read; undefined: anonymous. */
  keyed: boolean;
}

export function createS3Edge(deps: S3EdgeDeps): http.Server {
  const server = nodeHttp.createServer((req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    handle(deps, req, res).catch((err: unknown) => {
      const e = toS3Error(err);
      if (!res.headersSent) sendS3Error(req, res, e, requestId);
      else res.destroy();
      if (e.s3Code === 'InternalError' && !res.destroyed) deps.log.error('S3 request failed', { url: req.url, err: err as Error });
    });
  });
  return applyTimeouts(server, { ...DEFAULT_TIMEOUTS, idleMs: SLOW_CLIENT_TIMEOUT_MS });
}

function sendS3Error(req: IncomingMessage, res: ServerResponse, e: S3Error, requestId: string): void {
  const body = req.method === 'HEAD' ? '' : errorXml(e.s3Code, e.message, (req.url ?? '/').split('?')[0]!, requestId);
  if (e.s3Code === 'ServiceUnavailable') res.setHeader('retry-after', '1');
  res.writeHead(e.httpStatus, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendXml(res: ServerResponse, xml: string, method: string | undefined): void {
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(method === 'HEAD' ? undefined : xml);
}

async function handle(deps: S3EdgeDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new S3Error('MethodNotAllowed', `${req.method} is not allowed: this S3 API is read-only`);
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const caller = authenticate(deps, req, rawPath, rawQuery);
  if (!deps.synced()) throw new S3Error('ServiceUnavailable', 'this node is still learning the catalog from the network');
  const address = parseAddress(rawPath, req.headers.host, deps.domain);
  const params = new Map(parseQuery(rawQuery));
  for (const name of UNSUPPORTED) if (params.has(name)) throw new S3Error('NotImplemented', `?${name} is not served by this read-only S3 API`);
  if (address.bucket === undefined) return sendXml(res, listBucketsXml(buckets(deps, caller)), req.method);
  const { contentId, manifest } = resolveBucket(deps, address.bucket, caller);
  if (address.key === undefined) {
    if (params.has('location')) return sendXml(res, locationXml(), req.method);
    // HeadBucket: the bucket exists and may be read.
    if (req.method === 'HEAD') return void res.writeHead(200).end();
    const v2 = params.has('list-type');
    const page = listPage(listedObjects(contentId, manifest), parseListQuery(params, v2));
    return sendXml(res, listObjectsXml(address.bucket, page, v2), req.method);
  }
  const object = objectAt(contentId, manifest, address.key);
  if (!object) throw new S3Error('NoSuchKey', `no key ${address.key} in ${address.bucket}`);
  await serveObject(deps, req, res, { contentId, manifest, object, params, signed: caller.keyed });
}

function authenticate(deps: S3EdgeDeps, req: IncomingMessage, rawPath: string, rawQuery: string): Caller {
  let read = false;
  const keyId = verifyRequest({ method: req.method ?? 'GET', rawPath, rawQuery, rawHeaders: req.rawHeaders }, (id) => {
    const key = deps.keys(id);
    read = key?.read ?? false;
    return key?.secret;
  });
  if (keyId === undefined) return { keyed: false };
  if (!read) throw new S3Error('AccessDenied', `the access key ${keyId} lacks the read scope`);
  return { keyed: true };
}

/** Whether this node can serve a content: it holds it all, or it may fetch the rest. */
function servable(deps: S3EdgeDeps, contentId: string, manifest: Manifest): boolean {
  return deps.catalog.isLive(contentId) && ((deps.mayFetch?.(manifest) ?? true) || deps.catalog.holding(contentId).complete);
}

function readable(deps: S3EdgeDeps, contentId: string, caller: Caller): boolean {
  return caller.keyed || (deps.access?.mode(contentId) ?? 'public') === 'public';
}

/** One bucket per content name (its newest live version), for what the caller may read here. */
function buckets(deps: S3EdgeDeps, caller: Caller): { name: string; createdAt: string }[] {
  const names = new Set(deps.catalog.list().map((c) => c.manifest.name));
  const out: { name: string; createdAt: string }[] = [];
  for (const name of [...names].sort()) {
    const found = deps.catalog.resolveLive(name);
    if (found && servable(deps, found.contentId, found.manifest) && readable(deps, found.contentId, caller)) out.push({ name, createdAt: found.manifest.createdAt });
  }
  return out;
}

function resolveBucket(deps: S3EdgeDeps, bucket: string, caller: Caller): { contentId: string; manifest: Manifest } {
  const found = deps.catalog.resolveLive(bucket) ?? (/^[0-9a-f]{64}$/.test(bucket) ? deps.catalog.resolve(bucket) : undefined);
  if (!found) throw new S3Error('NoSuchBucket', `no content named ${bucket} on this node`);
  if (!deps.catalog.isLive(found.contentId)) throw new S3Error('NoSuchBucket', `${bucket} was ${deps.catalog.state(found.contentId)}`);
  if (!readable(deps, found.contentId, caller)) throw new S3Error('AccessDenied', `${bucket} is not public: sign the request with an access key (canopy api-token create --scopes read)`);
  return found;
}

interface ObjectRequest {
  contentId: string;
  manifest: Manifest;
  object: S3Object;
  params: ReadonlyMap<string, string>;
  signed: boolean;
}

async function serveObject(deps: S3EdgeDeps, req: IncomingMessage, res: ServerResponse, o: ObjectRequest): Promise<void> {
  const { object } = o;
  const headers: Record<string, string | number> = {
    'content-type': object.contentType,
    'accept-ranges': 'bytes',
    etag: object.etag,
    'last-modified': new Date(object.lastModified).toUTCString(),
  };
  if (o.signed) for (const h of OVERRIDES) if (o.params.has(`response-${h}`)) headers[h] = o.params.get(`response-${h}`)!.replace(/[\r\n]/g, ' ');
  const h = req.headers;
  const decision = evaluateConditions({ ifMatch: h['if-match'], ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'], ifUnmodifiedSince: h['if-unmodified-since'] }, { etag: object.etag, lastModified: Date.parse(object.lastModified) });
  if (decision.kind === 'precondition-failed') throw new S3Error('PreconditionFailed', 'At least one of the preconditions you specified did not hold');
  if (decision.kind === 'not-modified') return void res.writeHead(304, headers).end();
  const span = objectSpan(h.range, object);
  if (span.contentRange) headers['content-range'] = span.contentRange;
  headers['content-length'] = span.contentLength;
  const file = openFile(deps, o.contentId, o.manifest);
  if (!file.canServe(span.from, span.to)) throw new S3Error('ServiceUnavailable', `this node does not hold all of ${o.manifest.name} and may not fetch it`);
  if (req.method === 'HEAD' || object.size === 0) return void res.writeHead(span.status, headers).end();
  const body = whileLive(file.slices(span.from, span.to, abortOnClose(res)), () => deps.catalog.isLive(o.contentId));
  await sendAfterFirst(res, span.status, headers, body);
}
