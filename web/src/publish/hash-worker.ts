// Hashes a file in the publisher's browser, off the main thread, one block at a time so
// memory stays flat whatever the file's size: SHA-256 of each block (the manifest's block
// hashes, with WebCrypto's native digest, since a block is whole in memory anyway) and of
// the whole file (hash-wasm's incremental SHA-256: WebCrypto has no streaming digest).
// Reading the next block overlaps with hashing the current one. Also sniffs the media type.
import { createSHA256 } from 'hash-wasm';

export interface HashRequest {
  file: File;
  blockSize: number;
}

export type HashMessage =
  | { type: 'progress'; bytes: number }
  | { type: 'done'; blocks: string[]; sha256: string; mediaType: string; seconds: number }
  | { type: 'error'; message: string };

function sniff(head: Uint8Array, declared: string): string {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 12 && ascii(4, 8) === 'ftyp') return 'video/mp4';
  if (head.length > 188 && head[0] === 0x47 && head[188] === 0x47) return 'video/mp2t';
  return /^[\w.+-]+\/[\w.+-]+$/.test(declared) ? declared : 'application/octet-stream';
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function hashFile({ file, blockSize }: HashRequest): Promise<HashMessage> {
  const started = performance.now();
  const whole = await createSHA256();
  whole.init();
  const blocks: string[] = [];
  let mediaType = sniff(new Uint8Array(0), file.type);
  let lastReport = 0;
  const read = (offset: number) => file.slice(offset, Math.min(file.size, offset + blockSize)).arrayBuffer();
  let next = file.size > 0 ? read(0) : undefined;
  for (let offset = 0; offset < file.size; offset += blockSize) {
    const buf = await next!;
    // At most two blocks are in memory: the one being hashed and the one being read.
    next = offset + blockSize < file.size ? read(offset + blockSize) : undefined;
    const bytes = new Uint8Array(buf);
    if (offset === 0) mediaType = sniff(bytes.subarray(0, 512), file.type);
    const blockDigest = crypto.subtle.digest('SHA-256', buf);
    whole.update(bytes);
    blocks.push(hex(await blockDigest));
    const now = performance.now();
    if (now - lastReport > 100) {
      lastReport = now;
      postMessage({ type: 'progress', bytes: Math.min(file.size, offset + blockSize) } satisfies HashMessage);
    }
  }
  return { type: 'done', blocks, sha256: whole.digest('hex'), mediaType, seconds: (performance.now() - started) / 1000 };
}

onmessage = (e: MessageEvent<HashRequest>) => {
  hashFile(e.data).then(
    (m) => postMessage(m),
    (err: unknown) => postMessage({ type: 'error', message: (err as Error).message } satisfies HashMessage),
  );
};
