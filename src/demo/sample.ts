/**
 * Writes a deterministic pseudo-random sample file (AES-256-CTR keystream over zeros, fast
 * and incompressible) and returns its SHA-256, streaming so memory stays flat.
 */
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const CHUNK = 1 << 20;

/** The sample's keystream for `seed` (encrypt zeros with it): the same bytes for the same seed on every machine. */
export function sampleCipher(seed: string): Cipher {
  return createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
}

export async function writeSample(path: string, size: number, seed = 'canopy-sample'): Promise<string> {
  const cipher = sampleCipher(seed);
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
