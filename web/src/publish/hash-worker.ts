// Hashes a file in the publisher's browser, off the main thread, with flat memory whatever
// the file's size: the file is streamed (File.stream) into one reused block buffer. SHA-256
// of each block (the manifest's block hashes) uses WebCrypto's native digest on that buffer
// (digest copies its input when called, so the buffer can be refilled at once); the
// whole-file SHA-256 uses hash-wasm's incremental hasher, since WebCrypto has no streaming
// digest. Then analyses the file (analyse.ts) from a few small reads.
import { createSHA256 } from 'hash-wasm';
import { analyse, type Analysis } from './analyse';

export interface HashRequest {
  file: File;
  blockSize: number;
}

export type HashMessage =
  | { type: 'progress'; bytes: number }
  | { type: 'done'; blocks: string[]; sha256: string; analysis: Analysis; seconds: number }
  | { type: 'error'; message: string };

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function hashFile({ file, blockSize }: HashRequest): Promise<HashMessage> {
  const started = performance.now();
  const whole = await createSHA256();
  whole.init();
  const blocks: Promise<ArrayBuffer>[] = [];
  const block = new Uint8Array(blockSize);
  let filled = 0;
  let offset = 0;
  let lastReport = 0;
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    whole.update(value);
    for (let pos = 0; pos < value.length; ) {
      const n = Math.min(blockSize - filled, value.length - pos);
      block.set(value.subarray(pos, pos + n), filled);
      filled += n;
      pos += n;
      if (filled === blockSize) {
        blocks.push(crypto.subtle.digest('SHA-256', block));
        filled = 0;
      }
    }
    offset += value.length;
    const now = performance.now();
    if (now - lastReport > 100) {
      lastReport = now;
      // Waiting here for the digests queued so far bounds how many block copies WebCrypto holds.
      await Promise.all(blocks.slice(-2));
      postMessage({ type: 'progress', bytes: offset } satisfies HashMessage);
    }
  }
  if (filled > 0) blocks.push(crypto.subtle.digest('SHA-256', block.subarray(0, filled)));
  const analysis = await analyse(async (o, l) => new Uint8Array(await file.slice(o, o + l).arrayBuffer()), file.size, file.type);
  return { type: 'done', blocks: (await Promise.all(blocks)).map(hex), sha256: whole.digest('hex'), analysis, seconds: (performance.now() - started) / 1000 };
}

onmessage = (e: MessageEvent<HashRequest>) => {
  hashFile(e.data).then(
    (m) => postMessage(m),
    (err: unknown) => postMessage({ type: 'error', message: (err as Error).message } satisfies HashMessage),
  );
};
