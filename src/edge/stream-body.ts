/**
 * Response bodies shared by the HTTP and S3 edges: bytes of a virtual file written with
 * backpressure, cut between blocks once the content is withdrawn, and the first slice read
 * before the status line so that a block that cannot be had yields a clean error status.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CanopyError } from '../core/errors.js';

/**
 * Stops a response between blocks once its content is withdrawn or expires. Each slice waits
 * for the event loop's check phase first: slices of cached blocks come without I/O, and a
 * chain of them would otherwise keep other sockets (a health probe, a new request) waiting.
 */
export async function* whileLive(source: AsyncIterable<Buffer>, live: () => boolean): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    await yieldToLoop();
    if (!live()) throw new CanopyError('ERR_CONTENT_WITHDRAWN', 'the content was withdrawn while it was being served');
    yield chunk;
  }
}

export function send(res: ServerResponse, body: AsyncIterable<Buffer>): Promise<void> {
  return pipeline(Readable.from(body, { objectMode: false, highWaterMark: 1 }), res);
}

/** Reads the first slice, then writes the status line and streams the rest. */
export async function sendAfterFirst(res: ServerResponse, status: number, headers: Record<string, string | number>, body: AsyncGenerator<Buffer>): Promise<void> {
  const first = await body.next();
  res.writeHead(status, headers);
  await send(res, prepend(first, body));
}

/** Yields an already read first slice, then the rest. */
export async function* prepend(first: IteratorResult<Buffer>, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
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
