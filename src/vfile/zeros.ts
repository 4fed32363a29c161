/** Zero bytes for holes, yielded from one shared read-only buffer so a large hole costs no memory. */
const CHUNK = 1 << 20;
const ZERO = Buffer.alloc(CHUNK);

export function* zeros(length: number): Generator<Buffer> {
  for (let left = length; left > 0; left -= CHUNK) yield ZERO.subarray(0, Math.min(CHUNK, left));
}
