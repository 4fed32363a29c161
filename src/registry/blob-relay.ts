/**
 * One upstream fetch of one blob, shared by every reader: the bytes go to a spool file as
 * they arrive (hashed on the way), and readers follow the file, each at its own offset, so
 * a blob is served while it arrives and fetched once however many ask. The last byte is
 * held back until the whole blob is checked against its digest: a reader can never finish
 * a blob whose bytes are wrong (it gets the error instead, and the spool is deleted).
 * Memory: one network chunk plus one read per reader, whatever the blob size.
 */
import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { CanopyError } from '../core/errors.js';
import type { BlobStream } from './registry-client.js';

export interface RelayRead {
  bytes: Buffer;
  /** The blob's size when known (the registry's Content-Length, or counted once complete). */
  size: number | undefined;
  /** True when these bytes end the blob and it was verified. */
  done: boolean;
}

export class BlobRelay {
  private fh: FileHandle | undefined;
  private written = 0;
  private size: number | undefined;
  private verified = false;
  private error: Error | undefined;
  private wake: (() => void)[] = [];
  /** Settles when the blob is complete and verified (or failed). */
  readonly finished: Promise<void>;

  constructor(
    readonly file: string,
    readonly digest: string,
    private readonly label: string,
    open: () => Promise<BlobStream>,
  ) {
    this.finished = this.fetch(open);
    this.finished.catch(() => undefined);
  }

  /** Up to `max` bytes from `offset`, waiting until some arrive; throws the fetch's error. */
  async read(offset: number, max: number): Promise<RelayRead> {
    for (;;) {
      if (this.error) throw this.error;
      // Everything but the last byte is readable before the check; the last after it.
      const limit = this.verified ? this.written : Math.max(0, this.written - 1);
      if (offset < limit || (this.verified && offset >= this.written)) {
        const n = Math.max(0, Math.min(max, limit - offset));
        const bytes = Buffer.alloc(n);
        let got = 0;
        while (got < n) {
          const r = await this.fh!.read(bytes, got, n - got, offset + got);
          if (r.bytesRead === 0) break;
          got += r.bytesRead;
        }
        return { bytes: bytes.subarray(0, got), size: this.size, done: this.verified && offset + got >= this.written };
      }
      await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }

  /** Closes the spool and deletes it (the caller drops the relay first, so no reader is left). */
  async dispose(): Promise<void> {
    await this.finished.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await unlink(this.file).catch(() => undefined);
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const w of waiting) w();
  }

  private async fetch(openBlob: () => Promise<BlobStream>): Promise<void> {
    try {
      this.fh = await open(this.file, 'w+');
      const { length, body } = await openBlob();
      this.size = length;
      const hash = createHash('sha256');
      try {
        for await (const chunk of body) {
          if (length !== undefined && this.written + chunk.length > length) throw this.mismatch(`more than the ${length} bytes it declared`);
          hash.update(chunk);
          for (let off = 0; off < chunk.length; ) off += (await this.fh.write(chunk, off, chunk.length - off, this.written + off)).bytesWritten;
          this.written += chunk.length;
          this.notify();
        }
      } catch (err) {
        body.destroy();
        if (err instanceof CanopyError) throw err;
        throw new CanopyError('ERR_OCI_UPSTREAM', `${this.label}: blob ${this.digest} broke off after ${this.written} bytes: ${(err as Error).message}`, { cause: err });
      }
      if (length !== undefined && this.written !== length) throw this.mismatch(`${this.written} bytes, not the ${length} it declared`);
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== this.digest) throw this.mismatch(`bytes that hash to ${got}`);
      this.size = this.written;
      this.verified = true;
    } catch (err) {
      this.error = err as Error;
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
      await unlink(this.file).catch(() => undefined);
      throw err;
    } finally {
      this.notify();
    }
  }

  private mismatch(what: string): CanopyError {
    return new CanopyError('ERR_OCI_DIGEST_MISMATCH', `${this.label}: blob ${this.digest} came back as ${what}; nothing was kept`);
  }
}
