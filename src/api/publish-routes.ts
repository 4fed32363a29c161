/** Routes of the browser publishing flow (root): settings, drafts, and tus uploads. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { requireRoot } from './content-routes.js';
import { sendJson } from '../http/http-util.js';
import type { Route } from './router.js';
import * as S from './schemas.js';

/** Where the tus uploads of the publishing page go. */
export const UPLOAD_PATH = '/api/uploads';

/** What these routes need of the root's upload service (root/upload-service.ts implements it). */
export interface UploadsApi {
  createDraft(body: unknown): { contentId: string; manifest: Manifest; upload: string };
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  list(): unknown[];
}

const MAX_DRAFT_BYTES = 80 * 2 ** 20;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_DRAFT_BYTES) throw new CanopyError('ERR_USAGE', 'draft body is larger than 80 MiB');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new CanopyError('ERR_USAGE', 'draft body is not JSON');
  }
}

export function publishRoutes(uploads: UploadsApi | undefined, blockSize: number): Route[] {
  const tag = 'publish';
  const tus = ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => requireRoot(uploads).handle(req, res);
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
        const { contentId, manifest, upload } = requireRoot(uploads).createDraft(await readJson(req));
        sendJson(res, 201, { contentId, name: manifest.name, size: manifest.size, blocks: manifest.blocks.length, criteria: manifest.criteria, upload });
      },
    },
    { method: 'GET', path: '/api/publish/uploads', tag, summary: 'Uploads to this origin and how much of each is verified (root)', response: S.UploadList, handler: () => ({ uploads: requireRoot(uploads).list() }) },
    { method: methods, path: UPLOAD_PATH, tag, summary: 'tus 1.0 resumable upload: create (POST with Upload-Length and Upload-Metadata contentId)', handler: tus },
    { method: methods, path: `${UPLOAD_PATH}/*`, tag, summary: 'tus 1.0 resumable upload: HEAD for the offset, PATCH to append', handler: tus },
  ];
}
