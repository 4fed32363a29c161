/**
 * Publishing from the browser, on the origin: a draft (the publisher's own block hashes)
 * becomes a manifest that is announced at once; the bytes then arrive over the tus
 * resumable-upload protocol (@tus/server, files under <data>/uploads) and each block is
 * verified and stored as soon as it is complete on disk, so qualified nodes fetch it while
 * the rest is still uploading. An interrupted upload (closed tab, dropped network) resumes
 * at the offset the server holds; drafts survive a restart of the node.
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Server, Upload } from '@tus/server';
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { manifestFromDraft, parseDraft } from '../ingest/draft-manifest.js';
import { UploadFollower } from '../ingest/upload-follower.js';
import type { Metrics } from '../ops/metrics.js';
import type { BlockStore } from '../store/block-store.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../core/logger.js';
import { UPLOAD_PATH, type UploadsApi } from '../api/publish-routes.js';

const DRAFTS_KEY = 'publish:drafts';
/** An upload untouched this long is abandoned: its partial file is deleted (the tus expiration extension). */
export const UPLOAD_EXPIRY_MS = 7 * 24 * 3600 * 1000;
const CLEANUP_EVERY_MS = 3600 * 1000;

export interface UploadServiceDeps {
  dir: string;
  store: BlockStore;
  catalog: Catalog;
  origin: string;
  /** The origin's own publisher key: it signs the manifests of drafts (the page does not sign). */
  publisherKey: () => KeyObject;
  announce: (contentId: string, manifest: Manifest) => void;
  metrics: Metrics;
  /** A block of a content was verified and stored (the swarm advertises it to downloaders). */
  onStored?: (contentId: string, index: number) => void;
  log: Logger;
}

interface DraftRecord {
  contentId: string;
  sha256: string;
  complete: boolean;
  createdAt: string;
}

export interface UploadState {
  contentId: string;
  name: string;
  size: number;
  verifiedBytes: number;
  complete: boolean;
  createdAt: string;
}

export class UploadService implements UploadsApi {
  private tus: Promise<Server> | undefined;
  private readonly drafts = new Map<string, DraftRecord>();
  private readonly followers = new Map<string, UploadFollower>();
  private cleanup: NodeJS.Timeout | undefined;

  constructor(private readonly deps: UploadServiceDeps) {
    const saved = deps.store.index.getKv(DRAFTS_KEY);
    for (const d of saved ? (JSON.parse(saved) as DraftRecord[]) : []) this.drafts.set(d.contentId, d);
  }

  /**
   * The tus server, loaded on first use: @tus/server and its file store weigh about 10 MiB of
   * resident memory, and only a root that receives uploads from the browser page needs them
   * (members never load this; notes/issue-23.md, Session 8).
   */
  private server(): Promise<Server> {
    this.tus ??= this.createServer();
    return this.tus;
  }

  private async createServer(): Promise<Server> {
    const [{ EVENTS, Server }, { FileStore }] = await Promise.all([import('@tus/server'), import('@tus/file-store')]);
    const deps = this.deps;
    const tus: Server = new Server({
      path: UPLOAD_PATH,
      datastore: new FileStore({ directory: deps.dir, expirationPeriodInMilliseconds: UPLOAD_EXPIRY_MS }),
      relativeLocation: true,
      // No CORS: the publishing page is same-origin, and no other origin may upload.
      allowedOrigins: [],
      postReceiveInterval: 100,
      onUploadCreate: async (_req, upload) => {
        this.checkNewUpload(upload);
        return {};
      },
      onUploadFinish: async (_req, upload) => {
        try {
          await this.follower(upload).finish();
        } catch (err) {
          deps.log.warn('upload rejected', { upload: upload.id, err: err as Error });
          throw { status_code: 422, body: `${(err as Error).message}\n` };
        }
        this.complete(upload);
        return {};
      },
    });
    tus.on(EVENTS.POST_RECEIVE, (_req, upload) => void this.poke(upload, upload.offset));
    tus.on(EVENTS.POST_FINISH, (_req, _res, upload) => void tus.datastore.remove(upload.id).catch(() => undefined));
    return tus;
  }

  start(): void {
    this.cleanup = setInterval(() => {
      this.server().then((tus) => tus.cleanUpExpiredUploads()).then(
        (n) => n > 0 && this.deps.log.info('deleted abandoned uploads', { count: n }),
        (err: Error) => this.deps.log.warn('cannot delete abandoned uploads', { err }),
      );
    }, CLEANUP_EVERY_MS);
    this.cleanup.unref();
  }

  stop(): void {
    clearInterval(this.cleanup);
  }

  /** Turns a publisher's draft into an announced content; the upload of its bytes follows. */
  createDraft(body: unknown): { contentId: string; manifest: Manifest; upload: string } {
    const draft = parseDraft(body);
    const { contentId, manifest } = manifestFromDraft(draft, this.deps.origin, this.deps.publisherKey());
    this.deps.catalog.add(contentId, manifest);
    this.drafts.set(contentId, { contentId, sha256: draft.sha256, complete: manifest.size === 0, createdAt: manifest.createdAt });
    this.save();
    this.deps.log.info('draft published; waiting for its upload', { contentId, name: manifest.name, size: manifest.size, blocks: manifest.blocks.length });
    this.deps.announce(contentId, manifest);
    return { contentId, manifest, upload: UPLOAD_PATH };
  }

  /** Serves every tus request; after each, takes whatever the request completed. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'PATCH') {
      const id = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(UPLOAD_PATH.length + 1));
      res.once('close', () => void this.pokeById(id));
    }
    await (await this.server()).handle(req, res);
  }

  list(): UploadState[] {
    return [...this.drafts.values()].map((d) => {
      const m = this.deps.catalog.get(d.contentId);
      const h = m ? this.deps.catalog.holding(d.contentId) : undefined;
      return { contentId: d.contentId, name: m?.name ?? '', size: m?.size ?? 0, verifiedBytes: h?.haveBytes ?? 0, complete: d.complete, createdAt: d.createdAt };
    });
  }

  private checkNewUpload(upload: Upload): void {
    const contentId = upload.metadata?.contentId ?? '';
    const draft = this.drafts.get(contentId);
    const manifest = this.deps.catalog.get(contentId);
    if (!draft || !manifest) throw { status_code: 404, body: `no draft ${contentId.slice(0, 12)} here: create it with POST /api/publish/drafts first\n` };
    if (upload.size !== manifest.size) throw { status_code: 400, body: `upload length ${upload.size} differs from the draft's size ${manifest.size}\n` };
  }

  private follower(upload: Upload): UploadFollower {
    let f = this.followers.get(upload.id);
    if (!f) {
      const contentId = upload.metadata?.contentId ?? '';
      const draft = this.drafts.get(contentId);
      const manifest = this.deps.catalog.get(contentId);
      if (!draft || !manifest) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `upload ${upload.id} names no known draft`);
      f = new UploadFollower(contentId, manifest, path.join(this.deps.dir, upload.id), this.deps.store, draft.sha256, {
        onBlock: (i, length) => {
          this.deps.metrics.inc('canopy_bytes_in_total', { class: 'publish' }, length);
          this.deps.onStored?.(contentId, i);
        },
      });
      this.followers.set(upload.id, f);
    }
    return f;
  }

  private async poke(upload: Upload, offset: number | undefined): Promise<void> {
    try {
      await this.follower(upload).poke(offset);
    } catch (err) {
      this.deps.log.warn('cannot take uploaded blocks', { upload: upload.id, err: err as Error });
    }
  }

  private async pokeById(id: string): Promise<void> {
    const upload = await (await this.server()).datastore.getUpload(id).catch(() => undefined);
    if (upload) await this.poke(upload, upload.offset);
  }

  private complete(upload: Upload): void {
    const f = this.followers.get(upload.id)!;
    const draft = this.drafts.get(f.contentId)!;
    draft.complete = true;
    this.save();
    this.followers.delete(upload.id);
    this.deps.log.info('upload complete and verified', { contentId: f.contentId, bytes: f.manifest.size });
  }

  private save(): void {
    this.deps.store.index.putKv(DRAFTS_KEY, JSON.stringify([...this.drafts.values()]));
  }
}
