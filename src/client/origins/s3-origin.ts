/**
 * S3 origins (docs/ORIGINS.md, "S3 origins"): `s3://bucket/key` is one object, read by
 * ranges like an HTTP origin (range-stream.ts: one streamed GetObject for the whole object,
 * a new one from the byte reached after a drop or a stall); `s3://bucket/prefix/` is every
 * object under the prefix, published as a directory content (s3-tree.ts), each file read
 * the same way as the cutters reach it. Objects are pinned by their ETag: every GetObject
 * asks If-Match, and an answer with another ETag or length (a server that ignores If-Match)
 * fails with ERR_SOURCE_CHANGED; a prefix is listed again once every byte was read, and any
 * key added, removed or rewritten meanwhile fails the publish the same way.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { CanopyError } from '../../core/errors.js';
import type { PositionalReader } from '../../ingest/cut-block.js';
import type { TreeItem } from '../../ingest/directory-layout.js';
import type { TreeSource } from '../../ingest/ingest-directory.js';
import { describeVersion, sameVersion, withRetries, type OriginObject, type OriginVersion } from './origin.js';
import { changed, DEFAULT_STALL_MS, discard, RangeStream, streamBody, type RangeBody, type RangeStreamOptions } from './range-stream.js';
import { readOnSocket, socketBodyOf } from './s3-socket-range.js';
import { s3Call } from './s3-client.js';
import { treeOfKeys, treeVersion, type S3Listed, type S3TreeEntry } from './s3-tree.js';
import { s3Url, type S3Location } from './s3-url.js';

function totalOf(contentRange: string | undefined): number {
  const m = contentRange ? /\/(\d+)$/.exec(contentRange) : null;
  return m ? Number(m[1]) : -1;
}

/** One object, pinned to the version it had when opened (or listed). */
export class S3Object implements PositionalReader, OriginObject {
  readonly url: string;
  private readonly stream: RangeStream;
  private readonly stallMs: number;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    readonly version: OriginVersion,
    options: RangeStreamOptions,
  ) {
    this.url = s3Url(bucket, key);
    this.stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.stream = new RangeStream(this.url, version.size, (position) => this.startRange(position), options);
  }

  /**
   * The size and validators every later read is checked against, from a GetObject of byte 0
   * (an error then has a body naming S3's code, which a HEAD's has not); an empty object
   * (416 to any range) is confirmed with HeadObject.
   */
  static async open(client: S3Client, loc: S3Location, options: RangeStreamOptions): Promise<S3Object> {
    const url = s3Url(loc.bucket, loc.key);
    const version = await withRetries(options.retries ?? 3, async () => {
      try {
        const out = await s3Call(url, () => client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: 'bytes=0-0' })));
        discard(out.Body as Readable);
        return { size: totalOf(out.ContentRange), etag: out.ETag, lastModified: out.LastModified?.toUTCString() };
      } catch (err) {
        if (!(err instanceof CanopyError && err.details?.status === 416)) throw err;
        const head = await s3Call(url, () => client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key })));
        return { size: head.ContentLength ?? 0, etag: head.ETag, lastModified: head.LastModified?.toUTCString() };
      }
    });
    if (version.size < 0) throw new CanopyError('ERR_ORIGIN', `${url}: the server did not say the object's size (no Content-Range in a ranged GetObject)`);
    return new S3Object(client, loc.bucket, loc.key, version, options);
  }

  get size(): number {
    return this.version.size;
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return this.stream.read(buffer, offset, length, position);
  }

  close(): void {
    this.stream.close();
  }

  private async startRange(position: number): Promise<RangeBody> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${position}-`, IfMatch: this.version.etag });
    readOnSocket(command, this.stallMs);
    const out = await s3Call(this.url, () => this.client.send(command));
    const stream = out.Body as Readable;
    const body = socketBodyOf(stream) ?? streamBody(stream);
    const now = { size: totalOf(out.ContentRange), etag: out.ETag, lastModified: out.LastModified?.toUTCString() };
    // Compared by size and ETag: Last-Modified only counts when there is no ETag (sameVersion).
    if (!sameVersion(this.version, now)) {
      body.destroy();
      discard(stream);
      throw changed(this.url, `${describeVersion(this.version)} became ${describeVersion(now)}`);
    }
    return body;
  }
}

async function listAll(client: S3Client, loc: S3Location, retries: number): Promise<S3Listed[]> {
  const url = s3Url(loc.bucket, loc.key);
  return withRetries(retries, () =>
    s3Call(url, async () => {
      const out: S3Listed[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: loc.bucket, Prefix: loc.key })) {
        for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified });
      }
      return out;
    }),
  );
}

/** Every object under a prefix, as a tree to ingest (ingest-directory.ts's ingestTree). */
export class S3Tree implements TreeSource, OriginObject {
  readonly url: string;
  private readonly readers = new Map<string, S3Object>();

  private constructor(
    private readonly client: S3Client,
    private readonly loc: S3Location,
    readonly version: OriginVersion,
    readonly items: readonly TreeItem[],
    private readonly files: ReadonlyMap<string, S3TreeEntry>,
    private readonly options: RangeStreamOptions,
  ) {
    this.url = s3Url(loc.bucket, loc.key);
  }

  readonly warnings: readonly string[] = [];

  static async open(client: S3Client, loc: S3Location, options: RangeStreamOptions): Promise<S3Tree> {
    const listed = await listAll(client, loc, options.retries ?? 3);
    if (listed.length === 0) throw new CanopyError('ERR_ORIGIN', `${s3Url(loc.bucket, loc.key)}: no object under this prefix`, { details: { status: 404 } });
    const shape = treeOfKeys(loc.key, listed);
    return new S3Tree(client, loc, treeVersion(listed), shape.items, shape.files, options);
  }

  readerOf(path: string): PositionalReader {
    let r = this.readers.get(path);
    if (!r) {
      const f = this.files.get(path)!;
      r = new S3Object(this.client, this.loc.bucket, f.key, { size: f.size, etag: f.etag, lastModified: f.lastModified?.toUTCString() }, this.options);
      this.readers.set(path, r);
    }
    return r;
  }

  async checkUnchanged(): Promise<void> {
    const now = treeVersion(await listAll(this.client, this.loc, this.options.retries ?? 3));
    if (!sameVersion(this.version, now)) throw changed(this.url, 'objects were added, removed or rewritten under the prefix');
  }

  close(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}
