/**
 * Preheat, first half: fetches an image from its registry into one local spool file laid
 * out as an image content (image-index.ts): the manifests (an index and the manifests of
 * the platforms asked for), each image's config and layers, then the index. Every blob is
 * streamed to disk while it is hashed, and checked against its digest and size before the
 * next one is asked for; a mismatch stops the whole preheat (the caller deletes the spool,
 * nothing has been published). Memory: one network chunk at a time, whatever the layer size.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { CanopyError } from '../core/errors.js';
import type { PlannedTrack } from '../ingest/analysis.js';
import { IMAGE_INDEX_FORMAT, type ImageBlob, type ImageIndex } from './image-index.js';
import { isIndexType, isManifestType } from './oci-media-types.js';
import { isDigest, type ImageReference } from './reference.js';
import type { RegistryClient } from './registry-client.js';

export interface SpoolOptions {
  /** `os/arch[/variant]`: only this platform's manifest from an index (the index itself is kept). */
  platform?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface SpooledImage {
  index: ImageIndex;
  /** Tracks for the ingest pipeline: the index first, then one per non-empty blob. */
  plan: PlannedTrack[];
  size: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
}

const MAX_DEPTH = 3;

export async function spoolImage(client: RegistryClient, ref: ImageReference, file: string, options: SpoolOptions = {}): Promise<SpooledImage> {
  const manifests: { digest: string; mediaType: string; body: Buffer }[] = [];
  const blobs = new Map<string, Descriptor>();
  const top = await client.manifest(ref.repository, ref.digest ?? ref.tag!);
  await walk(client, ref, { ...top, mediaType: mediaTypeOf(top.body, top.mediaType) }, 0, options.platform, manifests, blobs);
  if (options.platform && !manifests.some((m) => !isIndexType(m.mediaType))) {
    throw new CanopyError('ERR_OCI_MANIFEST_INVALID', `${ref.registry}/${ref.repository}: no manifest for platform ${options.platform}`);
  }
  const total = manifests.reduce((s, m) => s + m.body.length, 0) + [...blobs.values()].reduce((s, b) => s + b.size, 0);
  const fh = await open(file, 'w');
  try {
    const entries: ImageBlob[] = [];
    const plan: PlannedTrack[] = [];
    let pos = 0;
    const place = (digest: string, mediaType: string, size: number, manifest: boolean) => {
      if (entries.some((e) => e.digest === digest)) return false;
      entries.push({ digest, mediaType, size, offset: pos, manifest });
      if (size > 0) plan.push({ kind: 'data', offset: pos, length: size });
      pos += size;
      return true;
    };
    for (const m of manifests) {
      if (place(m.digest, m.mediaType, m.body.length, true)) await writeAll(fh, m.body, pos - m.body.length);
    }
    options.onProgress?.(pos, total);
    for (const b of blobs.values()) {
      const at = pos;
      if (!place(b.digest, b.mediaType, b.size, false)) continue;
      await fetchBlob(client, ref, b, fh, at, (n) => options.onProgress?.(at + n, total));
    }
    const index: ImageIndex = { format: IMAGE_INDEX_FORMAT, version: 1, registry: ref.registry, repository: ref.repository, ...(ref.tag !== undefined && ref.digest === undefined ? { tag: ref.tag } : {}), digest: top.digest, blobs: entries };
    const json = Buffer.from(JSON.stringify(index));
    await writeAll(fh, json, pos);
    plan.unshift({ kind: 'header', offset: pos, length: json.length });
    return { index, plan, size: pos + json.length };
  } finally {
    await fh.close();
  }
}

async function walk(client: RegistryClient, ref: ImageReference, m: { digest: string; mediaType: string; body: Buffer }, depth: number, platform: string | undefined, out: { digest: string; mediaType: string; body: Buffer }[], blobs: Map<string, Descriptor>): Promise<void> {
  const doc = parseJson(m.body, m.digest);
  out.push(m);
  if (isIndexType(m.mediaType)) {
    if (depth >= MAX_DEPTH) throw invalid(m.digest, `indexes nested deeper than ${MAX_DEPTH}`);
    const children = descriptors(doc.manifests, m.digest, 'manifests').filter((d) => !platform || matchesPlatform(d, platform) || isIndexType(d.mediaType));
    for (const d of children) {
      const child = await client.manifest(ref.repository, d.digest);
      if (child.digest !== d.digest || child.body.length !== d.size) throw new CanopyError('ERR_OCI_DIGEST_MISMATCH', `${ref.registry}/${ref.repository}: manifest ${d.digest} came back as ${child.digest} (${child.body.length} bytes, not ${d.size})`);
      await walk(client, ref, { ...child, mediaType: mediaTypeOf(child.body, d.mediaType) }, depth + 1, platform, out, blobs);
    }
    return;
  }
  if (!isManifestType(m.mediaType)) throw invalid(m.digest, `unsupported media type "${m.mediaType}" (schema 1 and other types are not supported)`);
  for (const d of [...descriptors([doc.config], m.digest, 'config'), ...descriptors(doc.layers, m.digest, 'layers')]) blobs.set(d.digest, d);
}

/** Streams one blob to the spool at `at`, hashing as it goes; refuses more bytes than declared, fewer, or other bytes. */
async function fetchBlob(client: RegistryClient, ref: ImageReference, d: Descriptor, fh: FileHandle, at: number, progress: (n: number) => void): Promise<void> {
  const { body } = await client.blob(ref.repository, d.digest);
  const hash = createHash('sha256');
  let n = 0;
  try {
    for await (const chunk of body) {
      if (n + chunk.length > d.size) throw mismatch(ref, d, `more than ${d.size} bytes`);
      hash.update(chunk);
      await writeAll(fh, chunk, at + n);
      n += chunk.length;
      progress(n);
    }
  } catch (err) {
    body.destroy();
    if (err instanceof CanopyError) throw err;
    throw new CanopyError('ERR_OCI_UPSTREAM', `${ref.registry}/${ref.repository}: blob ${d.digest} broke off after ${n} bytes: ${(err as Error).message}`, { cause: err });
  }
  if (n !== d.size) throw mismatch(ref, d, `${n} bytes, not ${d.size}`);
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== d.digest) throw mismatch(ref, d, `bytes that hash to ${got}`);
}

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let off = 0; off < data.length; ) off += (await fh.write(data, off, data.length - off, position + off)).bytesWritten;
}

export function matchesPlatform(d: Descriptor, platform: string): boolean {
  const [os, architecture, variant] = platform.split('/');
  const p = d.platform;
  return !!p && p.os === os && p.architecture === architecture && (variant === undefined || p.variant === variant);
}

function descriptors(list: unknown, digest: string, what: string): Descriptor[] {
  if (!Array.isArray(list)) throw invalid(digest, `${what} is not a list of descriptors`);
  return list.map((d: unknown, i) => {
    const x = d as Partial<Descriptor> | null;
    if (typeof x !== 'object' || x === null || typeof x.digest !== 'string' || !isDigest(x.digest) || !Number.isSafeInteger(x.size) || (x.size as number) < 0 || typeof x.mediaType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(x.mediaType)) {
      throw invalid(digest, `${what}[${i}] is not a descriptor with a sha256 digest, a size and a media type`);
    }
    return x as Descriptor;
  });
}

function parseJson(body: Buffer, digest: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw invalid(digest, 'not a JSON object');
}

/** The document's own `mediaType` wins over the HTTP header (some registries send text/plain). */
function mediaTypeOf(body: Buffer, fallback: string): string {
  try {
    const t = (JSON.parse(body.toString('utf8')) as { mediaType?: unknown }).mediaType;
    if (typeof t === 'string') return t;
  } catch {
    // parseJson reports it.
  }
  return fallback;
}

function invalid(digest: string, why: string): CanopyError {
  return new CanopyError('ERR_OCI_MANIFEST_INVALID', `manifest ${digest}: ${why}`);
}

function mismatch(ref: ImageReference, d: Descriptor, what: string): CanopyError {
  return new CanopyError('ERR_OCI_DIGEST_MISMATCH', `${ref.registry}/${ref.repository}: blob ${d.digest} came back as ${what}; nothing was published`);
}
