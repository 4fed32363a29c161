/**
 * A blob's body read from a content the swarm is still bringing in (a pulled-through blob
 * this node follows, published moments ago): a block read can fail for reasons that pass
 * (its fetch deadline on a loaded swarm, the download session ending as the content
 * completes) while the client is mid-body. A body cannot start over, so the read resumes
 * from the byte it stopped at instead of cutting the client off (skopeo and containerd see
 * an unexpected EOF and fail the pull). A few tries without progress, then the error; a
 * failure before the first byte is the caller's (it can still answer with an error).
 */
import { isCanopyError } from '../../core/errors.js';
import type { Slice } from '../../vfile/virtual-file.js';

const PASSING = ['ERR_TIMEOUT', 'ERR_CONNECTION_CLOSED'] as const;

/** Over plain bytes or pooled slices (vfile): a slice is passed on as it is, its release stays the consumer's. */
export async function* resumedRead<T extends Buffer | Slice>(open: (from: number) => AsyncIterable<T>, from: number, signal: AbortSignal, tries = 3): AsyncGenerator<T> {
  let pos = from;
  let failures = 0;
  for (;;) {
    try {
      for await (const chunk of open(pos)) {
        pos += Buffer.isBuffer(chunk) ? chunk.length : (chunk as Slice).bytes.length;
        failures = 0;
        yield chunk;
      }
      return;
    } catch (err) {
      // Before the first byte the caller answers with an error the client can fall back on;
      // the client leaving aborts the reads with ERR_CONNECTION_CLOSED too: both end here.
      if (pos === from || signal.aborted || !PASSING.some((code) => isCanopyError(err, code)) || ++failures >= tries) throw err;
    }
  }
}
