/**
 * A block's bytes either as one buffer or as the list of pieces they arrived in (the TLS
 * records of a peer's reply, views into them, never joined). Hashing and writing take
 * either, so a block received over the wire is hashed piece by piece while each piece is
 * still in the CPU cache and copied once (into the store's write buffers), never first
 * assembled into a fresh block-sized buffer.
 */
import { createHash } from 'node:crypto';

export type BlockBytes = Buffer | readonly Buffer[];

export function byteLength(bytes: BlockBytes): number {
  if (Buffer.isBuffer(bytes)) return bytes.length;
  let n = 0;
  for (const b of bytes as readonly Buffer[]) n += b.length;
  return n;
}

export function sha256HexOf(bytes: BlockBytes): string {
  const h = createHash('sha256');
  if (Buffer.isBuffer(bytes)) h.update(bytes);
  else for (const b of bytes as readonly Buffer[]) h.update(b);
  return h.digest('hex');
}

/** One buffer: the same one when it already is, else the pieces joined (one copy). */
export function joined(bytes: BlockBytes): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  const parts = bytes as readonly Buffer[];
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[]);
}

/**
 * A piece with bytes of its own (read from disk for one reply, store/block-reads.ts): its
 * `flushed` runs exactly once, when nothing refers to the bytes any more (a socket's write
 * callback, or the connection's close), so an upload holds its pieces in the socket, not
 * the whole block.
 */
export interface OwnedPiece {
  readonly bytes: Buffer;
  readonly flushed: () => void;
}

/** A piece that carries its own `flushed`, as against bytes the sender keeps (a Buffer or a list). */
export function isOwnedPiece(piece: BlockBytes | OwnedPiece): piece is OwnedPiece {
  return !Buffer.isBuffer(piece) && !Array.isArray(piece);
}
