/**
 * Cuts a byte stream into fixed-size blocks without holding more than one block in
 * memory: `for await` over the source gives natural backpressure, since the next chunk is
 * not read until the current block has been handed on.
 */
export async function* cutBlocks(source: AsyncIterable<Buffer | Uint8Array>, blockSize: number): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(blockSize);
  let filled = 0;
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(blockSize - filled, chunk.length - pos);
      chunk.copy(block, filled, pos, pos + n);
      filled += n;
      pos += n;
      if (filled === blockSize) {
        yield block;
        // The consumer may keep the block it was given, so the next one gets fresh memory.
        block = Buffer.allocUnsafe(blockSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}
