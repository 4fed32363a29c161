/**
 * Writes on a TLS socket that never join a block into a fresh buffer.
 *
 * While a write is in flight (a 256 KiB piece takes ~20 ms to leave at 100 Mbit/s), every
 * later `write` waits in the stream's buffer; when the write completes, node:stream hands all
 * of them to `_writev` at once, and node:tls (TLSWrap::DoWrite) copies a list of buffers into
 * one new allocation before it encrypts. On a peer connection that list is often a frame head
 * and its block piece behind a control frame (a `have`, a `load` answer): every such piece was
 * copied once more, into memory just mapped for it (glibc gives allocations ≥ 128 KiB their
 * own mapping, NODE_MALLOC_ENV), whose first touch costs ~14 µs a page on this VM. With a
 * control frame every few ms, 27-75 % of the bytes of a block reply went that way
 * (notes/issue-15.md, Session 14).
 *
 * Here a batch is cut into runs: consecutive small chunks still go as one `_writev` (one run
 * of TLS records, one syscall), and each chunk of at least `bulkBytes` goes alone through
 * `_write`, which TLS encrypts from where it lies. Runs go one after another; the batch's
 * callback comes after the last, or with the first error. Same bytes, same order.
 */
import type { Duplex, Writable } from 'node:stream';

/**
 * A block goes to the socket in writes of at most this size. node:tls encrypts each write
 * whole into its own buffer before any of it leaves (TLSWrap::DoWrite, one SSL_write), so a
 * 4 MiB block written at once held 4 MiB of ciphertext per connection besides the block: a
 * holder serving 16 peers peaked at 153 MiB RSS. Later pieces wait in the stream's buffer as
 * views of the block (no copy) until the one before has been written out.
 */
export const WRITE_PIECE_BYTES = 1024 * 1024;

/**
 * Writes `bytes` in pieces of at most WRITE_PIECE_BYTES, views of the same buffer; `done`
 * comes from the last one's callback (write callbacks come in order: the stream is done with
 * all of them). Returns the last write's answer (false: wait for 'drain').
 */
export function writeInPieces(stream: Writable, bytes: Buffer, done?: () => void): boolean {
  const last = (piece: Buffer) => (done ? stream.write(piece, () => done()) : stream.write(piece));
  if (bytes.length <= WRITE_PIECE_BYTES) return last(bytes);
  for (let at = 0; at + WRITE_PIECE_BYTES < bytes.length; at += WRITE_PIECE_BYTES) stream.write(bytes.subarray(at, at + WRITE_PIECE_BYTES));
  return last(bytes.subarray(Math.floor((bytes.length - 1) / WRITE_PIECE_BYTES) * WRITE_PIECE_BYTES));
}

interface Chunk {
  chunk: Buffer | string;
  encoding: BufferEncoding;
}
type Batch = Chunk[] & { allBuffers?: boolean };
type Callback = (err?: Error | null) => void;
interface Implementer {
  _write(chunk: Buffer | string, encoding: BufferEncoding, cb: Callback): void;
  _writev?: (chunks: Batch, cb: Callback) => void;
}

/** Makes `stream` (a TLS socket) write every chunk of `bulkBytes` or more on its own; a no-op on a stream without `_writev`. */
export function keepBulkWritesApart(stream: Duplex, bulkBytes: number): void {
  const socket = stream as unknown as Implementer;
  const writev = socket._writev;
  if (typeof writev !== 'function') return;
  socket._writev = function (this: Implementer, chunks: Batch, cb: Callback): void {
    if (!chunks.some((c) => c.chunk.length >= bulkBytes)) return writev.call(this, chunks, cb);
    const runs = bulkRuns(chunks, bulkBytes);
    let i = 0;
    const next: Callback = (err) => {
      if (err || i === runs.length) return cb(err);
      const run = runs[i++]!;
      if (run.length === 1) this._write(run[0]!.chunk, run[0]!.encoding, next);
      else writev.call(this, run, next);
    };
    next();
  };
}

/** The batch cut into runs: each chunk of `bulkBytes` or more alone, the small ones between them together. */
export function bulkRuns(chunks: readonly Chunk[], bulkBytes: number): Batch[] {
  const runs: Batch[] = [];
  let small: Batch = [];
  const close = () => {
    if (small.length === 0) return;
    // node:net reads this flag to take the entries' chunks as they are (writevGeneric).
    small.allBuffers = small.every((c) => Buffer.isBuffer(c.chunk));
    runs.push(small);
    small = [];
  };
  for (const c of chunks) {
    if (c.chunk.length < bulkBytes) {
      small.push({ chunk: c.chunk, encoding: c.encoding });
      continue;
    }
    close();
    runs.push(Object.assign([{ chunk: c.chunk, encoding: c.encoding }], { allBuffers: Buffer.isBuffer(c.chunk) }));
  }
  close();
  return runs;
}
