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
import { interceptors, request, type Dispatcher, Agent } from 'undici';
import { CanopyError } from '../../core/errors.js';
import type { PositionalReader } from '../../ingest/cut-block.js';
import { describeVersion, originError, sameVersion, type OriginObject, type OriginVersion, withRetries } from './origin.js';
import { changed, DEFAULT_STALL_MS, discard, RangeStream, streamBody, type RangeBody, type RangeStreamOptions } from './range-stream.js';
import { openSocketRange } from './socket-range.js';

export type HttpOriginOptions = RangeStreamOptions;

const BODY_BUFFER = 2 ** 20;

const dispatcher: Dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 20 }));

function contentRangeTotal(v: string | string[] | undefined): number | undefined {
  const m = typeof v === 'string' ? /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(v.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class HttpOrigin implements PositionalReader, OriginObject {
  private readonly stream: RangeStream;
  /** Ranges are read on a socket of their own (socket-range.ts) until the origin answers one otherwise. */
  private direct = true;

  private constructor(
    readonly url: string,
    readonly version: OriginVersion,
    private readonly stallMs: number,
    options: HttpOriginOptions,
  ) {
    this.stream = new RangeStream(url, version.size, (position) => this.startRange(position), options);
  }

  get size(): number {
    return this.version.size;
  }

  /** Asks for the first byte, to learn the size and validators and that ranges are served. */
  static async open(url: string, options: HttpOriginOptions = {}): Promise<HttpOrigin> {
    const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    return withRetries(options.retries ?? 3, async () => {
      const res = await get(url, { range: 'bytes=0-0' }, stallMs);
      discard(res.body);
      const total = contentRangeTotal(res.headers['content-range']);
      if (res.statusCode === 416 && total === 0) return new HttpOrigin(url, versionOf(res.headers, 0), stallMs, options);
      if (res.statusCode === 200) throw new CanopyError('ERR_ORIGIN', `${url}: the origin does not serve byte ranges (it answered 200 to a Range request); Canopy reads origins by ranges`);
      if (res.statusCode !== 206 || total === undefined) throw originError(url, res.statusCode);
      return new HttpOrigin(url, versionOf(res.headers, total), stallMs, options);
    });
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return this.stream.read(buffer, offset, length, position);
  }

  /** Stops the open range, if any (the publish ended or failed). */
  close(): void {
    this.stream.close();
  }

  private async startRange(position: number): Promise<RangeBody> {
    const headers = { range: `bytes=${position}-`, ...this.conditions() };
    if (this.direct) {
      const answer = await direct(this.url, headers, this.stallMs);
      if (answer) return this.checked(answer.headers, answer.body);
      this.direct = false;
    }
    const res = await get(this.url, headers, this.stallMs);
    if (res.statusCode !== 206) {
      discard(res.body);
      throw originError(this.url, res.statusCode);
    }
    return this.checked(res.headers, streamBody(res.body));
  }

  /** An origin that ignores If-Match still names what it sent: another ETag or length is another object. */
  private checked(headers: Record<string, string | string[] | undefined>, body: RangeBody): RangeBody {
    const now = versionOf(headers, contentRangeTotal(headers['content-range']) ?? -1);
    if (!sameVersion(this.version, now)) {
      body.destroy();
      throw changed(this.url, `${describeVersion(this.version)} became ${describeVersion(now)}`);
    }
    return body;
  }

  private conditions(): Record<string, string> {
    const { etag, lastModified } = this.version;
    if (etag && !etag.startsWith('W/')) return { 'if-match': etag };
    return lastModified ? { 'if-unmodified-since': lastModified } : {};
  }
}

function versionOf(h: Record<string, string | string[] | undefined>, size: number): OriginVersion {
  return { size, etag: header(h, 'etag'), lastModified: header(h, 'last-modified') };
}

/** A range on a socket of its own: its plain 206 answer, or undefined (anything else: ask undici). */
async function direct(url: string, headers: Record<string, string>, stallMs: number): Promise<{ headers: Record<string, string>; body: RangeBody } | undefined> {
  try {
    return await openSocketRange(new URL(url), headers, stallMs);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new CanopyError('ERR_ORIGIN', `${url}: ${e.code ?? ''} ${e.message}`.trim(), { details: { retry: true } });
  }
}

/** One GET; its headers must come within stallMs. A 412 means the object changed since it was opened. */
async function get(url: string, headers: Record<string, string>, stallMs: number): Promise<Dispatcher.ResponseData> {
  try {
    // A 1 MiB body buffer (undici's default is 64 KiB): the socket is read ahead while the cutter works, in fewer pause/resume rounds.
    const res = await request(url, { method: 'GET', headers, dispatcher, headersTimeout: stallMs, bodyTimeout: stallMs, highWaterMark: BODY_BUFFER });
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
