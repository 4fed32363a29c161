/**
 * Writes a deterministic pseudo-random sample file (AES-256-CTR keystream over zeros, fast
 * and incompressible) and returns its SHA-256, streaming so memory stays flat.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const CHUNK = 1 << 20;

export async function writeSample(path: string, size: number, seed = 'canopy-sample'): Promise<string> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const zeros = Buffer.alloc(CHUNK);
  for (let written = 0; written < size; ) {
    const n = Math.min(CHUNK, size - written);
    const chunk = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
    written += n;
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}
