/**
 * An origin object (HTTP or S3) read on a worker thread. Why: Node's socket reading (the
 * HTTP parser, a fresh buffer per 64 KiB chunk, stream bookkeeping, the copy into the block
 * buffer) cost the main thread about as much as everything else an ingest does there, and
 * the main thread was the bottleneck of an origin publish: busy 93-99 % of the time (event
 * loop utilisation), a read in flight 95 % of it, the hash workers and disks waiting
 * (notes/issue-20.md, Session 6). On its own thread the reading overlaps the cutting,
 * hashing dispatch and store writes.
 *
 * The worker holds the same reader the main thread would (HttpOrigin, S3Object: ranges,
 * stall timer, resume, version checks), pinned to the version the main thread opened. A
 * read into a buffer backed by shared memory (the ingest's pooled block buffers) is filled
 * in place by the worker; any other buffer (the analysers' probes) gets the bytes posted
 * back. Errors keep their code and details (ERR_ORIGIN, ERR_SOURCE_CHANGED).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CanopyError, type ErrorCode } from '../../core/errors.js';
import type { PositionalReader } from '../../ingest/cut-block.js';
import type { OriginVersion } from './origin.js';
import type { RangeStreamOptions } from './range-stream.js';
import type { S3OriginOptions } from './s3-client.js';
import type { S3Location } from './s3-url.js';

/** What the worker opens: the object, pinned to the version already seen. */
export type PinnedObject = { kind: 'http'; url: string; version: OriginVersion; options: RangeStreamOptions } | { kind: 's3'; loc: S3Location; version: OriginVersion; options: S3OriginOptions };

interface ReadRequest {
  id: number;
  position: number;
  length: number;
  /** Where to write, when the caller's buffer is shared memory. */
  shared?: SharedArrayBuffer;
  byteOffset?: number;
}

type ReadReply = { id: number; bytesRead: number; bytes?: Uint8Array } | { id: number; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

interface Pending {
  resolve: (r: { bytesRead: number }) => void;
  reject: (e: Error) => void;
  /** A buffer that is not shared: the bytes come back in the reply and are copied here. */
  into?: { buffer: Buffer; offset: number };
}

export class OriginWorker implements PositionalReader {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | undefined;

  constructor(
    readonly url: string,
    object: PinnedObject,
  ) {
    const self = fileURLToPath(import.meta.url);
    // Under tsx (development, tests) the worker registers the TypeScript loader first.
    this.worker =
      path.extname(self) === '.ts'
        ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`, { eval: true, workerData: object })
        : new Worker(self, { workerData: object });
    this.worker.unref();
    this.worker.on('message', (m: ReadReply) => this.settle(m));
    this.worker.on('error', (err) => this.fail(new CanopyError('ERR_ORIGIN', `${url}: the reading thread failed: ${err.message}`, { cause: err })));
    this.worker.on('exit', (code) => this.fail(new CanopyError('ERR_ORIGIN', `${url}: the reading thread stopped (exit ${code})`)));
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const shared = buffer.buffer instanceof SharedArrayBuffer ? buffer.buffer : undefined;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(shared ? {} : { into: { buffer, offset } }) });
      // Only while a read is pending does the thread keep the process alive.
      if (this.pending.size === 1) this.worker.ref();
      const request: ReadRequest = { id, position, length, ...(shared ? { shared, byteOffset: buffer.byteOffset + offset } : {}) };
      this.worker.postMessage(request);
    });
  }

  close(): void {
    this.failed ??= new CanopyError('ERR_ORIGIN', `${this.url}: the reader was closed`);
    void this.worker.terminate();
  }

  private settle(m: ReadReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('error' in m) {
      const { code, message, details } = m.error;
      p.reject(code ? new CanopyError(code, message, { details }) : new CanopyError('ERR_ORIGIN', message));
      return;
    }
    if (p.into && m.bytes) Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytesRead).copy(p.into.buffer, p.into.offset);
    p.resolve({ bytesRead: m.bytesRead });
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }
}

/** The worker's side: opens the pinned object and answers reads one by one, in order. */
async function serve(object: PinnedObject): Promise<void> {
  const reader = await openPinned(object);
  let queue = Promise.resolve();
  parentPort!.on('message', (m: ReadRequest) => {
    queue = queue.then(async () => {
      try {
        // Not allocUnsafe: a small one would be a slice of Node's shared pool, which cannot be transferred.
        const target = m.shared ? Buffer.from(m.shared, m.byteOffset, m.length) : Buffer.from(new ArrayBuffer(m.length));
        const { bytesRead } = await reader.read(target, 0, m.length, m.position);
        const reply: ReadReply = { id: m.id, bytesRead, ...(m.shared ? {} : { bytes: target }) };
        parentPort!.postMessage(reply, m.shared ? [] : [target.buffer as ArrayBuffer]);
      } catch (err) {
        const e = err as Error;
        parentPort!.postMessage({ id: m.id, error: { code: e instanceof CanopyError ? e.code : undefined, message: e.message, details: e instanceof CanopyError ? e.details : undefined } } satisfies ReadReply);
      }
    });
  });
}

async function openPinned(object: PinnedObject): Promise<PositionalReader> {
  if (object.kind === 'http') {
    const { HttpOrigin } = await import('./http-origin.js');
    return HttpOrigin.pinned(object.url, object.version, object.options);
  }
  const [{ s3Client }, { S3Object }] = await Promise.all([import('./s3-client.js'), import('./s3-origin.js')]);
  return new S3Object(await s3Client(object.options), object.loc.bucket, object.loc.key, object.version, object.options);
}

if (!isMainThread && parentPort && (workerData as PinnedObject | undefined)?.kind) void serve(workerData as PinnedObject);
