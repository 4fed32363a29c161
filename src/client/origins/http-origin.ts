/**
 * An HTTP(S) origin read by byte ranges (docs/ORIGINS.md): `canopy publish https://...`
 * analyses, cuts and hashes the object straight from the origin, one ranged GET per block
 * read, into the pipeline's pooled buffers, so nothing is held whole and no local copy is
 * made. The object is pinned by the validators of the first answer: every range asks
 * `If-Match` (a strong ETag) or `If-Unmodified-Since` (Last-Modified), and an answer naming
 * another ETag, a 412 or a different length fails the publish with ERR_SOURCE_CHANGED.
 * A connection that drops or stalls mid-range is resumed from the byte it stopped at (a new
 * range request), a few times with backoff; 4xx answers fail at once (ERR_ORIGIN).
 * Redirects are followed (fetch's default, at most 20).
 */
import { CanopyError } from '../../core/errors.js';
import type { PositionalReader } from '../../ingest/cut-block.js';
import { describeVersion, originError, sameVersion, type OriginObject, type OriginVersion, withRetries } from './origin.js';

export interface HttpOriginOptions {
  /** No byte for this long fails (and then retries) a request. */
  stallMs?: number;
  retries?: number;
}

const DEFAULT_STALL_MS = 30_000;

function contentRangeTotal(v: string | null): number | undefined {
  const m = v ? /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(v.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

export class HttpOrigin implements PositionalReader, OriginObject {
  private constructor(
    readonly url: string,
    readonly version: OriginVersion,
    private readonly options: Required<HttpOriginOptions>,
  ) {}

  get size(): number {
    return this.version.size;
  }

  /** Asks for the first byte, to learn the size and validators and that ranges are served. */
  static async open(url: string, options: HttpOriginOptions = {}): Promise<HttpOrigin> {
    const opts = { stallMs: options.stallMs ?? DEFAULT_STALL_MS, retries: options.retries ?? 3 };
    return withRetries(opts.retries, async () => {
      const res = await request(url, { range: 'bytes=0-0' }, opts.stallMs);
      await res.body?.cancel().catch(() => undefined);
      const total = contentRangeTotal(res.headers.get('content-range'));
      if (res.status === 416 && total === 0) return new HttpOrigin(url, versionOf(res, 0), opts);
      if (res.status === 200) throw new CanopyError('ERR_ORIGIN', `${url}: the origin does not serve byte ranges (it answered 200 to a Range request); Canopy reads origins by ranges`);
      if (res.status !== 206 || total === undefined) throw originError(url, res.status, res.statusText);
      return new HttpOrigin(url, versionOf(res, total), opts);
    });
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const n = Math.max(0, Math.min(length, this.size - position));
    let got = 0;
    // Each attempt asks for what is still missing: an interrupted range resumes where it stopped.
    await withRetries(this.options.retries, async () => {
      if (got >= n) return;
      await request(this.url, { range: `bytes=${position + got}-${position + n - 1}`, ...this.conditions() }, this.options.stallMs, async (chunk) => {
        const take = Math.min(chunk.length, n - got);
        chunk.copy(buffer, offset + got, 0, take);
        got += take;
      }, this.version);
      if (got < n) throw new CanopyError('ERR_ORIGIN', `${this.url}: the answer ended after ${got} of ${n} bytes`, { details: { retry: true } });
    });
    return { bytesRead: got };
  }

  private conditions(): Record<string, string> {
    const { etag, lastModified } = this.version;
    if (etag && !etag.startsWith('W/')) return { 'if-match': etag };
    return lastModified ? { 'if-unmodified-since': lastModified } : {};
  }
}

function versionOf(res: Response, size: number): OriginVersion {
  return { size, etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined };
}

/**
 * One GET; with `onChunk`, the body is streamed to it and the call resolves when it ends.
 * No byte for `stallMs` aborts it. A 412 means the object changed since it was opened.
 */
async function request(url: string, headers: Record<string, string>, stallMs: number, onChunk?: (chunk: Buffer) => Promise<void>, pinned?: OriginVersion): Promise<Response> {
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), stallMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), stallMs);
  };
  try {
    const res = await fetch(url, { headers, signal: abort.signal, redirect: 'follow' });
    if (res.status === 412) throw new CanopyError('ERR_SOURCE_CHANGED', `${url} changed while it was being published (the origin answered 412 to If-Match/If-Unmodified-Since); nothing was published`);
    if (!onChunk) return res;
    if (res.status !== 206) {
      await res.body?.cancel().catch(() => undefined);
      throw originError(url, res.status, res.statusText);
    }
    // An origin that ignores If-Match still names what it sent: another ETag or length is another object.
    const now = versionOf(res, contentRangeTotal(res.headers.get('content-range')) ?? -1);
    if (pinned && !sameVersion(pinned, now)) {
      await res.body?.cancel().catch(() => undefined);
      throw new CanopyError('ERR_SOURCE_CHANGED', `${url} changed while it was being published (${describeVersion(pinned)} became ${describeVersion(now)}); nothing was published`);
    }
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      touch();
      await onChunk(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    return res;
  } catch (err) {
    if (err instanceof CanopyError) throw err;
    const why = abort.signal.aborted ? `no byte for ${stallMs / 1000} s` : ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw new CanopyError('ERR_ORIGIN', `${url}: ${why}`, { details: { retry: true } });
  } finally {
    clearTimeout(timer);
  }
}
