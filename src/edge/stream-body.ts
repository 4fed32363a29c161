/**
 * Response bodies shared by the HTTP and S3 edges: bytes of a virtual file written with
 * backpressure, cut between blocks once the content is withdrawn, and the first slice read
 * before the status line so that a block that cannot be had yields a clean error status.
 */
import type { ServerResponse } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CanopyError } from '../core/errors.js';
import type { Slice } from '../vfile/virtual-file.js';
import { writeInPieces } from '../wire/tls-writes.js';

/**
 * Stops a response between blocks once its content is withdrawn or expires. Each slice waits
 * for the event loop's check phase first: slices of cached blocks come without I/O, and a
 * chain of them would otherwise keep other sockets (a health probe, a new request) waiting.
 */
export async function* whileLive(source: AsyncIterable<Slice>, live: () => boolean): AsyncGenerator<Slice> {
  for await (const slice of source) {
    await yieldToLoop();
    if (!live()) {
      slice.release();
      throw new CanopyError('ERR_CONTENT_WITHDRAWN', 'the content was withdrawn while it was being served');
    }
    yield slice;
  }
}

export function send(res: ServerResponse, body: AsyncIterable<Buffer>): Promise<void> {
  return pipeline(Readable.from(body, { objectMode: false, highWaterMark: 1 }), res);
}

/**
 * Writes slices of pooled block buffers with backpressure. Each slice goes back to the pool
 * from its write's callback, the moment the socket (or TLS) no longer refers to its bytes;
 * not when the next slice is asked for, as a stream pipeline would (the bytes may still sit
 * in the socket's queue then). A write whose callback never comes (the socket was already
 * destroyed) leaves its buffer to the collector: lost for the pool, never reused early.
 */
export async function sendSlices(res: Writable, body: AsyncIterable<Slice>): Promise<void> {
  for await (const slice of body) {
    if (res.destroyed) {
      slice.release();
      throw gone();
    }
    // In pieces: over TLS (HTTPS, FTPS) a 4 MiB block written at once held 4 MiB of
    // ciphertext per client (wire/tls-writes.ts); the slice goes back after the last piece.
    if (!writeInPieces(res, slice.bytes, () => slice.release())) await drained(res);
  }
  res.end();
  // Written out is done: a socket (the FTP data connection) need not also be read to its end.
  await finished(res, { readable: false });
}

function gone(): CanopyError {
  return new CanopyError('ERR_CONNECTION_CLOSED', 'client went away');
}

/** Resolves at 'drain'; rejects if the response closes or fails first. */
function drained(res: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      res.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(gone());
    res.on('drain', onDrain);
    res.on('close', onClose);
    res.on('error', done);
  });
}

/** Reads the first slice, then writes the status line and streams the rest. */
export async function sendAfterFirst(res: ServerResponse, status: number, headers: Record<string, string | number>, body: AsyncGenerator<Slice>): Promise<void> {
  const first = await body.next();
  res.writeHead(status, headers);
  await sendSlices(res, prepend(first, body));
}

/** Yields an already read first slice, then the rest. */
export async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** Cancels a response's block reads when its client goes away. */
export function abortOnClose(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.once('close', () => abort.abort(new CanopyError('ERR_CONNECTION_CLOSED', 'client went away')));
  return abort.signal;
}
