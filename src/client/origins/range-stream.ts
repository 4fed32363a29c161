/**
 * Positional reads of an origin object served from one streamed range at a time
 * (docs/ORIGINS.md), shared by the HTTP and S3 origins: the cutters read in order, so one
 * open-ended range (bytes P-) is streamed and each read in sequence takes the next bytes
 * from it (one request for the whole object, with the socket's backpressure); a read
 * elsewhere (the analysers' probes) opens a new range. A range that drops or sends nothing
 * for `stallMs` is reopened from the byte reached, a few times with backoff (withRetries):
 * an interrupted read resumes, it does not start over.
 */
import type { Readable } from 'node:stream';
import { CanopyError } from '../../core/errors.js';
import type { PositionalReader } from '../../ingest/cut-block.js';
import { withRetries } from './origin.js';
import { copyBytes } from '../../core/shared-copy.js';

export interface RangeStreamOptions {
  /** No byte for this long fails (and then retries) a read. */
  stallMs?: number;
  retries?: number;
}

export const DEFAULT_STALL_MS = 30_000;

/**
 * Opens the object's bytes from `position` to its end, checked to be the pinned version.
 * Fails with ERR_ORIGIN (retried when its details say `retry`) or ERR_SOURCE_CHANGED.
 */
/** The body of an open range, read in place into the caller's buffer. */
export interface RangeBody {
  /** Copies up to `length` available bytes into `buffer` at `offset`; 0 at the end of the body. */
  read(buffer: Buffer, offset: number, length: number): Promise<number>;
  destroy(): void;
}

export type RangeOpener = (position: number) => Promise<RangeBody>;

/** The body of an open range: bytes from `position` on, pulled as reads need them. */
interface OpenRange {
  position: number;
  body: RangeBody;
}

/** A streamed body (undici's, the AWS SDK's) read in place: each chunk is copied out as reads take it. */
export function streamBody(readable: Readable): RangeBody {
  const iterator = readable[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let left: Buffer = Buffer.alloc(0);
  return {
    async read(buffer, offset, length) {
      if (left.length === 0) {
        const next = await iterator.next();
        if (next.done) return 0;
        left = next.value;
      }
      const take = copyBytes(left, buffer, offset, 0, Math.min(left.length, length));
      left = left.subarray(take);
      return take;
    },
    destroy: () => discard(readable),
  };
}

export class RangeStream implements PositionalReader {
  private open: OpenRange | undefined;
  /** Reads run one at a time, in the order asked (the cutters ask in order). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stallMs: number;
  private readonly retries: number;

  constructor(
    readonly url: string,
    readonly size: number,
    private readonly openAt: RangeOpener,
    options: RangeStreamOptions = {},
  ) {
    this.stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.retries = options.retries ?? 3;
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const p = this.queue.then(() => this.readNow(buffer, offset, length, position));
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Stops the open range, if any (the read reached the end, or the publish ended or failed). */
  close(): void {
    this.open?.body.destroy();
    this.open = undefined;
  }

  private async readNow(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const n = Math.max(0, Math.min(length, this.size - position));
    let got = 0;
    // Each attempt continues from what is still missing: an interrupted range resumes where it stopped.
    await withRetries(this.retries, async () => {
      while (got < n) {
        const at = position + got;
        if (this.open?.position !== at) await this.startRange(at);
        const r = this.open!;
        const take = await this.pull(r, buffer, offset + got, n - got);
        if (take === 0) {
          this.close();
          throw new CanopyError('ERR_ORIGIN', `${this.url}: the answer ended at byte ${at} of ${this.size}`, { details: { retry: true } });
        }
        r.position += take;
        got += take;
      }
    });
    if (position + got >= this.size) this.close();
    return { bytesRead: got };
  }

  private async startRange(position: number): Promise<void> {
    this.close();
    this.open = { position, body: await this.openAt(position) };
  }

  /** The next bytes of the open range into `buffer` (0 at its end), or a stall error after stallMs without one. */
  private async pull(r: OpenRange, buffer: Buffer, offset: number, length: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CanopyError('ERR_ORIGIN', `${this.url}: no byte for ${this.stallMs / 1000} s`, { details: { retry: true } })), this.stallMs);
    });
    try {
      return await Promise.race([r.body.read(buffer, offset, length), stalled]);
    } catch (err) {
      this.close();
      if (err instanceof CanopyError) throw err;
      throw new CanopyError('ERR_ORIGIN', `${this.url}: ${(err as Error).message}`, { details: { retry: true } });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Drops a body nobody will read; the abort it causes is expected, not an error to report. */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

export function changed(url: string, why: string): CanopyError {
  return new CanopyError('ERR_SOURCE_CHANGED', `${url} changed while it was being published (${why}); nothing was published`);
}
