/**
 * What the mirror does with a tag, manifest or blob it does not hold: it asks the root to
 * pull it through (src/root/pull-through.ts, `oci-pull` on the peer wire) and relays the
 * answer. Manifests come whole and are checked against their digest here too; blobs come
 * in chunks as the root receives them from upstream, are sent on to the client at once, and
 * are hashed on the way: a blob whose bytes do not match its digest is cut off (the root
 * holds its last byte back until it has checked it, so this is the second check). The
 * root's refusals keep their OCI code and status (404 unknown, 429, 503), so containerd
 * falls back to its next endpoint as with any mirror.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../../core/errors.js';
import type { OciPullBody } from '../../wire/messages.js';
import { send } from '../stream-body.js';
import { API_VERSION_HEADER, OCI_ERRORS, sendOciError, type OciErrorCode } from './oci-errors.js';

/** The root's answer to one `oci-pull`: status 200 with bytes as payload, or an OCI error. */
export type PullAnswer = {
  status: number;
  code?: string;
  message?: string;
  retryAfter?: string;
  digest?: string;
  mediaType?: string;
  size?: number;
  done?: boolean;
  /** A blob the root relays to other nodes: serve it from its content once this node learns it (the swarm brings the bytes). */
  follow?: boolean;
};

export type AskRoot = (q: OciPullBody) => Promise<{ answer: PullAnswer; payload: Buffer }>;

/** Serves the blob from a content this node has learnt, if any; false when it has not (yet). */
export type ServeLocal = () => Promise<boolean>;

/** How often a following node looks for the content, and asks the root again (its relay may have failed meanwhile). */
const LOOK_MS = 250;
const ASK_AGAIN_MS = 5_000;
/** How long a client may wait for a blob the root is fetching for the fleet. */
export const FOLLOW_TIMEOUT_MS = 30 * 60_000;

export async function servePulled(ask: AskRoot, req: IncomingMessage, res: ServerResponse, q: Omit<OciPullBody, 'offset'>, local?: ServeLocal): Promise<void> {
  let first;
  try {
    first = await ask({ ...q, offset: 0 });
    if (first.answer.follow && first.answer.status === 200) {
      if (req.method === 'HEAD' || !local) return headOnly(res, first.answer);
      const next = await follow(ask, res, q, local);
      if (!next) return;
      first = next;
    }
  } catch (err) {
    if (res.headersSent) return void res.destroy(err as Error);
    return sendOciError(res, 'UNAVAILABLE', `cannot pull ${q.repository}:${q.reference} through the root now: ${(err as Error).message}`, { 'retry-after': '5' });
  }
  const { answer, payload } = first;
  if (answer.status !== 200) return refuse(res, answer, q.blob);
  const digest = answer.digest ?? '';
  if (!q.blob) {
    const got = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    if (got !== digest || (q.reference.startsWith('sha256:') && got !== q.reference)) return sendOciError(res, 'UNAVAILABLE', `the manifest relayed for ${q.repository}:${q.reference} hashes to ${got}, not ${digest}`);
  }
  const headers: Record<string, string | number> = {
    ...API_VERSION_HEADER,
    'content-type': q.blob ? 'application/octet-stream' : answer.mediaType || 'application/octet-stream',
    'docker-content-digest': digest,
    etag: `"${digest}"`,
    // A tag may move: only what is named by digest may be cached by the client.
    'cache-control': q.reference.startsWith('sha256:') ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (answer.size !== undefined) headers['content-length'] = answer.size;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return void res.end();
  if (!q.blob) return void res.end(payload);
  await send(res, relayed(ask, q, first.payload, answer.done === true, digest));
}

/**
 * Waits until the blob the root is fetching for the fleet is a content this node knows, then
 * serves it from there (undefined: served, or the client left). Asks the root again now and
 * then: if its relay failed or the content could not be published, the answer is the bytes
 * (or an error), returned for the caller to relay.
 */
async function follow(ask: AskRoot, res: ServerResponse, q: Omit<OciPullBody, 'offset'>, local: ServeLocal): Promise<{ answer: PullAnswer; payload: Buffer } | undefined> {
  const until = Date.now() + FOLLOW_TIMEOUT_MS;
  let askAt = Date.now() + ASK_AGAIN_MS;
  // The client waits without a byte while the root fetches: the edge's idle cut must not take it for a stalled reader.
  const socket = res.socket;
  const idle = socket?.timeout;
  socket?.setTimeout(0);
  const restore = () => idle !== undefined && socket?.setTimeout(idle);
  while (!res.destroyed) {
    // Serving from the content is ordinary reading: the idle cut applies again.
    restore();
    if (await local()) return undefined;
    socket?.setTimeout(0);
    if (Date.now() > until) throw new CanopyError('ERR_TIMEOUT', `${q.repository}@${q.reference} did not become a content in ${FOLLOW_TIMEOUT_MS / 60_000} min`);
    if (Date.now() >= askAt) {
      const again = await ask({ ...q, offset: 0 });
      if (!again.answer.follow || again.answer.status !== 200) {
        restore();
        return again;
      }
      askAt = Date.now() + ASK_AGAIN_MS;
    }
    await new Promise((resolve) => setTimeout(resolve, LOOK_MS));
  }
  return undefined;
}

function headOnly(res: ServerResponse, answer: PullAnswer): void {
  const digest = answer.digest ?? '';
  res.writeHead(200, { ...API_VERSION_HEADER, 'content-type': 'application/octet-stream', 'docker-content-digest': digest, etag: `"${digest}"`, ...(answer.size !== undefined ? { 'content-length': answer.size } : {}) });
  res.end();
}

/** The blob's chunks from the root, hashed; the last chunk is yielded only once the whole blob matches its digest. */
async function* relayed(ask: AskRoot, q: Omit<OciPullBody, 'offset'>, firstBytes: Buffer, firstDone: boolean, digest: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let bytes = firstBytes;
  let done = firstDone;
  let offset = 0;
  for (;;) {
    hash.update(bytes);
    offset += bytes.length;
    if (done) break;
    if (bytes.length > 0) yield bytes;
    const next = await ask({ ...q, offset });
    if (next.answer.status !== 200) throw new CanopyError('ERR_OCI_UPSTREAM', `${q.repository}@${q.reference} broke off after ${offset} bytes: ${next.answer.message ?? next.answer.status}`);
    bytes = next.payload;
    done = next.answer.done === true;
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) throw new CanopyError('ERR_OCI_DIGEST_MISMATCH', `${q.repository}@${q.reference}: the relayed bytes hash to ${got}`);
  if (bytes.length > 0) yield bytes;
}

function refuse(res: ServerResponse, answer: PullAnswer, blob: boolean): void {
  const code = (answer.code !== undefined && Object.hasOwn(OCI_ERRORS, answer.code) ? answer.code : answer.status === 404 ? (blob ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN') : 'UNAVAILABLE') as OciErrorCode;
  sendOciError(res, code, answer.message ?? `the root answered ${answer.status}`, answer.retryAfter ? { 'retry-after': answer.retryAfter } : {});
}
