import { statSync } from 'node:fs';
import path from 'node:path';
import type { AccessMode } from '../security/content-access.js';
import { formatCriteria, parseCriteria } from '../core/criteria.js';
import { CanopyError, isCanopyError } from '../core/errors.js';
import { isValidContentName, type PrefetchPolicy } from '../core/manifest.js';
import { parsePlacement } from '../core/placement.js';
import type { Analysis } from '../ingest/analysis.js';
import { ingestDirectory } from '../ingest/ingest-directory.js';
import { ingestFile, summarise, type IngestFileOptions, type IngestResult, type IngestSummary } from '../ingest/ingest-file.js';
import type { BlockSink } from '../ingest/pipeline.js';
import type { PublisherKey } from '../ingest/publisher-key.js';
import { uploadSink, type UploadCounts } from '../ingest/sinks.js';
import { heldProbe } from './held-probe.js';
import { frameHeader, FRAME_MANIFEST, PUBLISH_MEDIA_TYPE } from '../ingest/upload-format.js';
import type { ApiClient } from './api-client.js';


/** The manifest settings, parsed and checked. */
export interface ManifestSettings {
  criteria: string;
  name: string;
  blockSize?: number;
  blockSeconds?: number;
  chunking?: 'fixed' | 'cdc';
  /** ISO time after which the content is out of service everywhere. */
  expires?: string;
  prefetch?: PrefetchPolicy;
  placement?: string;
}

export interface PublishResult extends IngestSummary, UploadCounts {
  criteria: string;
  publisher: string;
  /** Version number under its name (1 for a new name), as the root numbered it. */
  version?: number;
  chunking: string;
  expires: string | null;
  prefetch: PrefetchPolicy | null;
}

/** The manifest settings (see manifest-options.ts; the name defaults to the file's), the key, and how the root serves it. */
export interface PublishFileOptions extends Omit<ManifestSettings, 'name'> {
  name?: string;
  key: PublisherKey;
  /** Who may fetch it from the edge servers: anyone (default), or holders of a signed URL. */
  access?: AccessMode;
  /** The file's layout when the caller knows it (a spooled image), instead of sniffing it. */
  analysis?: Analysis;
  onProgress?: (bytes: number, total: number) => void;
}

/**
 * Publishes a file or a directory (one content with `files`, ingest-directory.ts): analyses, cuts and hashes it here (the publisher's machine), streaming
 * each block to the root as it is hashed, then sends the manifest signed with the
 * publisher's key; the root checks every block against it. Shared by `canopy publish` and
 * `canopy demo`.
 */
export async function publishFile(api: ApiClient, file: string, options: PublishFileOptions): Promise<PublishResult> {
  // Checked here, so a missing file, a bad name or a bad expression fails before the root is asked anything.
  const directory = checkFile(file);
  return publishWith(api, options.name ?? path.basename(path.resolve(file)), options, (sink, o) => (directory ? ingestDirectory : ingestFile)(file, sink, o));
}

/** Ingests something (a file, a directory, an origin) into an upload sink, with the options publishWith derived. */
export type Ingest = (sink: BlockSink, options: IngestFileOptions) => Promise<IngestResult>;

/** Publishes what `ingest` reads under `name`: checks the settings, streams the blocks to the root, then the signed manifest. */
export async function publishWith(api: ApiClient, name: string, options: PublishFileOptions, ingest: Ingest): Promise<PublishResult> {
  const criteria = formatCriteria(parseCriteria(options.criteria));
  if (options.placement !== undefined) parsePlacement(options.placement);
  if (!isValidContentName(name)) throw new CanopyError('ERR_USAGE', `--name: "${name}" must be 1-255 characters without / \\ or NUL`);
  // Several roots: the manifest's origin is the leader's id, so the leader is found first.
  await api.followLeader();
  const root = await api.get<{ nodeId: string }>('/api/node');
  // The key goes first, so a root that has not authorised it refuses before any block is sent.
  const query = `?publisher=${options.key.publicKey}${options.access && options.access !== 'public' ? `&access=${options.access}` : ''}`;
  // Blocks are written from the pipeline's own buffers (api-upload.ts, uploadSink): no copy per block. The
  // request's headers go at once, so a root that refuses the key answers before any block is read, and a
  // first block slow to come (a long run of zeros, a slow origin) keeps an open request, not a silent socket.
  const { body, reply } = await api.upload<Record<string, unknown>>(`/api/contents${query}`, { 'content-type': PUBLISH_MEDIA_TYPE });
  // If the root answers early (an error), stop feeding the body.
  let early: unknown;
  reply.catch((err: unknown) => {
    early = err;
    body.destroy(err as Error);
  });
  const counts: UploadCounts = { sentBytes: 0, heldBlocks: 0, heldBytes: 0 };
  const held = heldProbe(async (hash) => (await api.get<{ held?: unknown }>(`/api/blocks/${hash}`)).held === true);
  const sink = uploadSink(body, held, counts);
  let result;
  try {
    result = await ingest(sink, { name, criteria, origin: root.nodeId, key: options.key.privateKey, blockSize: options.blockSize, blockSeconds: options.blockSeconds, onProgress: options.onProgress, chunking: options.chunking, expires: options.expires, prefetch: options.prefetch, placement: options.placement, analysis: options.analysis });
  } catch (err) {
    body.destroy();
    await reply.catch(() => undefined);
    // When the root refused early (an unauthorised key, say), its answer is the error to show, not the closed upload;
    // a fault of the source (a directory entry, an origin) is the error itself, whatever the aborted upload says.
    throw early !== undefined && !isSourceError(err) ? early : err;
  }
  const manifest = Buffer.from(JSON.stringify(result.manifest));
  body.end(Buffer.concat([frameHeader(FRAME_MANIFEST, manifest.length), manifest]));
  const answer = await reply;
  const m = result.manifest;
  return { ...summarise(result), ...counts, criteria, publisher: m.publisher, version: typeof answer.version === 'number' ? answer.version : undefined, chunking: m.chunking?.method ?? 'fixed', expires: m.expires ?? null, prefetch: m.prefetch ?? null };
}

function isSourceError(err: unknown): boolean {
  return isCanopyError(err) && ['ERR_DIRECTORY_ENTRY', 'ERR_SOURCE_CHANGED', 'ERR_ORIGIN', 'ERR_FILE_NOT_FOUND'].includes(err.code);
}

/** Whether `file` is a directory (published as one directory content) rather than a regular file. */
function checkFile(file: string): boolean {
  try {
    const st = statSync(file);
    if (st.isDirectory()) return true;
    if (!st.isFile()) throw new Error('not a regular file or a directory');
    return false;
  } catch (err) {
    throw new CanopyError('ERR_FILE_NOT_FOUND', `cannot publish "${file}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
