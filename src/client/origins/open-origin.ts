/**
 * Opens what `canopy publish URL` names (docs/ORIGINS.md): an http(s):// object, an
 * s3://bucket/key object or an s3://bucket/prefix/ tree, pinned to the version it has now,
 * with how to ingest it (one object: analysed and cut like a file; a prefix: laid out and
 * cut like a directory) and its default content name.
 */
import { ingestTree } from '../../ingest/ingest-directory.js';
import { ingestReader } from '../../ingest/ingest-file.js';
import type { Ingest } from '../publish-file.js';
import { HttpOrigin } from './http-origin.js';
import type { OriginVersion } from './origin.js';
import type { S3OriginOptions } from './s3-client.js';
import { isS3Url, parseS3Url, s3Name } from './s3-url.js';

export interface OpenedOrigin {
  version: OriginVersion;
  /** The name it is published under unless --name says otherwise. */
  name: string;
  ingest: Ingest;
  close(): void;
}

export type OriginOptions = S3OriginOptions;

export function isOriginUrl(s: string): boolean {
  return /^https?:\/\//i.test(s) || isS3Url(s);
}

/** The default content name of an http(s) URL: its last path segment, decoded. */
export function originName(url: string): string {
  const u = new URL(url);
  const last = u.pathname.split('/').filter(Boolean).pop();
  return last ? decodeURIComponent(last) : u.hostname;
}

export async function openOrigin(url: string, options: OriginOptions): Promise<OpenedOrigin> {
  if (!isS3Url(url)) {
    const o = await HttpOrigin.open(url, options);
    return { version: o.version, name: originName(url), ingest: (sink, opts) => ingestReader(o, o.size, sink, opts), close: () => o.close() };
  }
  const loc = parseS3Url(url);
  // The AWS SDK takes a few hundred ms to load: only an s3:// publish pays for it, not every canopy command.
  const [{ s3Client }, { S3Object, S3Tree }] = await Promise.all([import('./s3-client.js'), import('./s3-origin.js')]);
  const client = await s3Client(options);
  try {
    if (loc.directory) {
      const tree = await S3Tree.open(client, loc, options);
      return { version: tree.version, name: s3Name(loc), ingest: (sink, opts) => ingestTree(tree, sink, opts), close: () => (tree.close(), client.destroy()) };
    }
    const o = await S3Object.open(client, loc, options);
    return { version: o.version, name: s3Name(loc), ingest: (sink, opts) => ingestReader(o, o.size, sink, opts), close: () => (o.close(), client.destroy()) };
  } catch (err) {
    client.destroy();
    throw err;
  }
}
