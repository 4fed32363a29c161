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
};

export type AskRoot = (q: OciPullBody) => Promise<{ answer: PullAnswer; payload: Buffer }>;

export async function servePulled(ask: AskRoot, req: IncomingMessage, res: ServerResponse, q: Omit<OciPullBody, 'offset'>): Promise<void> {
  let first;
  try {
    first = await ask({ ...q, offset: 0 });
  } catch (err) {
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
