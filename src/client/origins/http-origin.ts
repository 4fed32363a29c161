/**
 * An HTTP(S) origin read by byte ranges (docs/ORIGINS.md): `canopy publish https://...`
 * analyses, cuts and hashes the object straight from the origin into the pipeline's pooled
 * buffers, so nothing is held whole and no local copy is made. Reads are positional, but the
 * cutters read in order, so one open-ended range (`bytes=P-`) is streamed and each read in
 * sequence takes the next bytes from it (one request for the whole object, with the socket's
 * backpressure); a read elsewhere (the analysers' probes) starts a new range.
 *
 * The object is pinned by the validators of the first answer: every range asks `If-Match`
 * (a strong ETag) or `If-Unmodified-Since` (Last-Modified), and a 412, another ETag or another
 * length fails the publish with ERR_SOURCE_CHANGED. A connection that drops or stalls is
 * resumed from the byte it stopped at (a new range request), a few times with backoff;
 * 4xx answers fail at once (ERR_ORIGIN). Redirects are followed (at most 20).
 */
import type { Readable } from 'node:stream';
import { interceptors, request, type Dispatcher, Agent } from 'undici';
import { CanopyError } from '../../core/errors.js';
import type { PositionalReader } from '../../ingest/cut-block.js';
import { describeVersion, originError, sameVersion, type OriginObject, type OriginVersion, withRetries } from './origin.js';

export interface HttpOriginOptions {
  /** No byte for this long fails (and then retries) a request. */
  stallMs?: number;
  retries?: number;
}

const DEFAULT_STALL_MS = 30_000;
const dispatcher: Dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 20 }));

function contentRangeTotal(v: string | string[] | undefined): number | undefined {
  const m = typeof v === 'string' ? /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(v.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body of an open range: bytes from `position` on, pulled as reads need them. */
interface OpenRange {
  position: number;
  body: Readable;
  iterator: AsyncIterator<Buffer>;
  left: Buffer;
}

export class HttpOrigin implements PositionalReader, OriginObject {
  private open: OpenRange | undefined;
  /** Reads run one at a time, in the order asked (the cutters ask in order). */
  private queue: Promise<unknown> = Promise.resolve();

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
      const res = await get(url, { range: 'bytes=0-0' }, opts.stallMs);
      discard(res.body);
      const total = contentRangeTotal(res.headers['content-range']);
      if (res.statusCode === 416 && total === 0) return new HttpOrigin(url, versionOf(res.headers, 0), opts);
      if (res.statusCode === 200) throw new CanopyError('ERR_ORIGIN', `${url}: the origin does not serve byte ranges (it answered 200 to a Range request); Canopy reads origins by ranges`);
      if (res.statusCode !== 206 || total === undefined) throw originError(url, res.statusCode);
      return new HttpOrigin(url, versionOf(res.headers, total), opts);
    });
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const p = this.queue.then(() => this.readNow(buffer, offset, length, position));
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Stops the open range, if any (the publish ended or failed). */
  close(): void {
    if (this.open) discard(this.open.body);
    this.open = undefined;
  }

  private async readNow(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const n = Math.max(0, Math.min(length, this.size - position));
    let got = 0;
    // Each attempt continues from what is still missing: an interrupted range resumes where it stopped.
    await withRetries(this.options.retries, async () => {
      while (got < n) {
        const at = position + got;
        if (this.open?.position !== at) await this.startRange(at);
        const r = this.open!;
        if (r.left.length === 0) {
          const next = await this.pull(r);
          if (next.done) {
            this.close();
            throw new CanopyError('ERR_ORIGIN', `${this.url}: the answer ended at byte ${at} of ${this.size}`, { details: { retry: true } });
          }
          r.left = next.value;
        }
        const take = Math.min(r.left.length, n - got);
        r.left.copy(buffer, offset + got, 0, take);
        r.left = r.left.subarray(take);
        r.position += take;
        got += take;
      }
    });
    if (position + got >= this.size) this.close();
    return { bytesRead: got };
  }

  /** The next chunk of the open range, or a stall error after stallMs without one. */
  private async pull(r: OpenRange): Promise<IteratorResult<Buffer>> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CanopyError('ERR_ORIGIN', `${this.url}: no byte for ${this.options.stallMs / 1000} s`, { details: { retry: true } })), this.options.stallMs);
    });
    try {
      return await Promise.race([r.iterator.next(), stalled]);
    } catch (err) {
      this.close();
      if (err instanceof CanopyError) throw err;
      throw new CanopyError('ERR_ORIGIN', `${this.url}: ${(err as Error).message}`, { details: { retry: true } });
    } finally {
      clearTimeout(timer);
    }
  }

  private async startRange(position: number): Promise<void> {
    this.close();
    const res = await get(this.url, { range: `bytes=${position}-`, ...this.conditions() }, this.options.stallMs);
    if (res.statusCode !== 206) {
      discard(res.body);
      throw originError(this.url, res.statusCode);
    }
    // An origin that ignores If-Match still names what it sent: another ETag or length is another object.
    const now = versionOf(res.headers, contentRangeTotal(res.headers['content-range']) ?? -1);
    if (!sameVersion(this.version, now)) {
      discard(res.body);
      throw changed(this.url, `${describeVersion(this.version)} became ${describeVersion(now)}`);
    }
    this.open = { position, body: res.body, iterator: res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>, left: Buffer.alloc(0) };
  }

  private conditions(): Record<string, string> {
    const { etag, lastModified } = this.version;
    if (etag && !etag.startsWith('W/')) return { 'if-match': etag };
    return lastModified ? { 'if-unmodified-since': lastModified } : {};
  }
}

/** Drops a body nobody will read; the abort it causes is expected, not an error to report. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

function changed(url: string, why: string): CanopyError {
  return new CanopyError('ERR_SOURCE_CHANGED', `${url} changed while it was being published (${why}); nothing was published`);
}

function versionOf(h: Record<string, string | string[] | undefined>, size: number): OriginVersion {
  return { size, etag: header(h, 'etag'), lastModified: header(h, 'last-modified') };
}

/** One GET; its headers must come within stallMs. A 412 means the object changed since it was opened. */
async function get(url: string, headers: Record<string, string>, stallMs: number): Promise<Dispatcher.ResponseData> {
  try {
    const res = await request(url, { method: 'GET', headers, dispatcher, headersTimeout: stallMs, bodyTimeout: stallMs });
    if (res.statusCode === 412) {
      discard(res.body);
      throw changed(url, 'the origin answered 412 to If-Match/If-Unmodified-Since');
    }
    return res;
  } catch (err) {
    if (err instanceof CanopyError) throw err;
    const e = err as Error & { code?: string };
    throw new CanopyError('ERR_ORIGIN', `${url}: ${e.code ?? ''} ${e.message}`.trim(), { details: { retry: true } });
  }
}
