/** Routes of the browser publishing flow (root): settings, drafts, and tus uploads. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../core/errors.js';
import { MAX_BLOCKS, type Manifest } from '../core/manifest.js';
import { requireRoot } from './content-routes.js';
import { sendJson } from '../http/http-util.js';
import type { Route } from './router.js';
import { tusJsonErrors } from './tus-json-errors.js';
import * as S from './schemas.js';

/** Where the tus uploads of the publishing page go. */
export const UPLOAD_PATH = '/api/uploads';

/** What these routes need of the root's upload service (root/upload-service.ts implements it). */
export interface UploadsApi {
  createDraft(body: unknown): { contentId: string; manifest: Manifest; upload: string };
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  list(): unknown[];
}

/**
 * A draft lists one SHA-256 per block: `"<64 hex>",` is 67 bytes, so the largest manifest a
 * draft can describe (MAX_BLOCKS blocks) needs at most this much, plus room for the other
 * fields. Bodies are buffered to be parsed, so at most MAX_DRAFTS_IN_FLIGHT are read at once:
 * memory stays bounded by about that many times the limit however many clients post
 * (issue 16: eight parallel 77 MB bodies took the root from 92 to 1006 MiB).
 */
export const MAX_DRAFT_BYTES = MAX_BLOCKS * 67 + 64 * 1024;
export const MAX_DRAFTS_IN_FLIGHT = 2;
let draftsInFlight = 0;

async function readDraftBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_DRAFT_BYTES) throw new CanopyError('ERR_BODY_TOO_LARGE', `a draft body of ${declared} bytes exceeds ${MAX_DRAFT_BYTES} (${MAX_BLOCKS} block hashes)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_DRAFT_BYTES) throw new CanopyError('ERR_BODY_TOO_LARGE', `a draft body exceeds ${MAX_DRAFT_BYTES} bytes (${MAX_BLOCKS} block hashes)`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new CanopyError('ERR_USAGE', 'draft body is not JSON');
  }
}

/** Reads one draft body when fewer than MAX_DRAFTS_IN_FLIGHT are being read; 429 otherwise. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  if (draftsInFlight >= MAX_DRAFTS_IN_FLIGHT) {
    res.setHeader('retry-after', '1');
    res.setHeader('connection', 'close');
    throw new CanopyError('ERR_BUSY', `${draftsInFlight} drafts are being received already; retry shortly`);
  }
  draftsInFlight++;
  try {
    return await readDraftBody(req);
  } catch (err) {
    // The rest of a refused body is not read: the connection cannot carry another request.
    res.setHeader('connection', 'close');
    throw err;
  } finally {
    draftsInFlight--;
  }
}

export function publishRoutes(uploads: UploadsApi | undefined, blockSize: number): Route[] {
  const tag = 'publish';
  const tus = ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => requireRoot(uploads).handle(req, tusJsonErrors(res));
  const methods = ['POST', 'PATCH', 'HEAD', 'OPTIONS', 'DELETE', 'GET'] as const;
  return [
    { method: 'GET', path: '/api/publish/settings', tag, summary: 'Block size the publishing page should cut files into', response: S.PublishSettings, handler: () => ({ blockSize, upload: UPLOAD_PATH }) },
    {
      method: 'POST',
      path: '/api/publish/drafts',
      tag,
      summary: 'Announce a content from its block hashes before its bytes arrive (root); then upload the bytes with tus, metadata contentId',
      body: 'the draft: the block hashes and whole-file SHA-256 the publisher computed',
      bodySchema: S.DraftRequest,
      response: S.DraftCreated,
      status: 201,
      handler: async ({ req, res }) => {
        const { contentId, manifest, upload } = requireRoot(uploads).createDraft(await readJson(req, res));
        sendJson(res, 201, { contentId, name: manifest.name, size: manifest.size, blocks: manifest.blocks.length, criteria: manifest.criteria, upload });
      },
    },
    { method: 'GET', path: '/api/publish/uploads', tag, summary: 'Uploads to this origin and how much of each is verified (root)', response: S.UploadList, handler: () => ({ uploads: requireRoot(uploads).list() }) },
    { method: methods, path: UPLOAD_PATH, tag, summary: 'tus 1.0 resumable upload: create (POST with Upload-Length and Upload-Metadata contentId)', handler: tus },
    { method: methods, path: `${UPLOAD_PATH}/*`, tag, summary: 'tus 1.0 resumable upload: HEAD for the offset, PATCH to append', handler: tus },
  ];
}
