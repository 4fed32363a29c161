/**
 * `canopy publish oci://HOST[:PORT]/repo:tag`: preheat. The image is fetched from its
 * registry into a spool file on this machine (every blob checked against its digest, see
 * registry/image-spool.ts), then published like any file, with the layout already known
 * (one track per blob, the index first), so it distributes to the nodes that meet the
 * criteria and shows in `canopy status` as one content. The spool is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { IMAGE_MEDIA_TYPE, imageContentName } from '../registry/image-index.js';
import { spoolImage } from '../registry/image-spool.js';
import { formatImageReference, parseImageReference } from '../registry/reference.js';
import { RegistryClient } from '../registry/registry-client.js';
import type { ApiClient } from './api-client.js';
import { publishFile, type PublishFileOptions, type PublishResult } from './publish-file.js';

export interface ImageOptions {
  platform?: string;
  insecureRegistry?: boolean;
  /** PEM file of a CA to trust for the registry. */
  registryCa?: string;
  /** `user:password` (else $CANOPY_REGISTRY_CREDS). */
  registryCreds?: string;
  /** Seconds the registry may take to answer or to send the next bytes (default 30). */
  registryTimeout?: string;
}

export interface ImageResult extends PublishResult {
  image: string;
  digest: string;
  blobs: number;
}

export function isImageReference(arg: string): boolean {
  return arg.startsWith('oci://');
}

export async function publishImage(api: ApiClient, text: string, options: PublishFileOptions, image: ImageOptions): Promise<ImageResult> {
  const ref = parseImageReference(text);
  if (image.platform !== undefined && !/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(image.platform)) throw new CanopyError('ERR_USAGE', `--platform: "${image.platform}" must be os/arch[/variant], e.g. linux/amd64`);
  const client = new RegistryClient({ registry: ref.registry, insecure: image.insecureRegistry, ca: image.registryCa ? readCa(image.registryCa) : undefined, credentials: credentials(image.registryCreds ?? process.env.CANOPY_REGISTRY_CREDS), timeoutMs: timeout(image.registryTimeout) });
  const dir = await mkdtemp(path.join(tmpdir(), 'canopy-image-'));
  try {
    const file = path.join(dir, 'image');
    const spooled = await spoolImage(client, ref, file, { platform: image.platform, onProgress: options.onProgress && ((done, total) => options.onProgress!(done, total * 2)) });
    const result = await publishFile(api, file, {
      ...options,
      name: options.name ?? imageContentName(spooled.index),
      analysis: { analyser: 'generic', mediaType: IMAGE_MEDIA_TYPE, plan: spooled.plan, warnings: [] },
      onProgress: options.onProgress && ((done, total) => options.onProgress!(total + done, total * 2)),
    });
    return { ...result, image: formatImageReference(ref), digest: spooled.index.digest, blobs: spooled.index.blobs.length };
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function credentials(text: string | undefined): { username: string; password: string } | undefined {
  if (text === undefined || text === '') return undefined;
  const colon = text.indexOf(':');
  if (colon <= 0) throw new CanopyError('ERR_USAGE', '--registry-creds must be user:password');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function timeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) throw new CanopyError('ERR_USAGE', `--registry-timeout: "${text}" must be a number of seconds above 0`);
  return s * 1000;
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanopyError('ERR_FILE_NOT_FOUND', `--registry-ca: cannot read "${file}": ${(err as Error).message}`);
  }
}
