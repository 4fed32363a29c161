/** Response bodies of the edges: streamed with backpressure, cut between blocks once the content is withdrawn. */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CanopyError } from '../../core/errors.js';

/** Stops a response between blocks once its content is withdrawn or expires. */
export async function* whileLive(source: AsyncIterable<Buffer>, live: () => boolean): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (!live()) throw new CanopyError('ERR_CONTENT_WITHDRAWN', 'the content was withdrawn while it was being served');
    yield chunk;
  }
}

export function send(res: ServerResponse, body: AsyncIterable<Buffer>): Promise<void> {
  return pipeline(Readable.from(body, { objectMode: false, highWaterMark: 1 }), res);
}

export async function* prepend(first: IteratorResult<Buffer>, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
