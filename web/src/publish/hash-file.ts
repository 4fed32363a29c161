// Runs the hashing worker for one file and reports progress.
import type { HashMessage } from './hash-worker';

export type HashResult = Extract<HashMessage, { type: 'done' }>;

export function hashInWorker(file: File, blockSize: number, onProgress: (bytes: number) => void): Promise<HashResult> {
  const worker = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module' });
  return new Promise<HashResult>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<HashMessage>) => {
      const m = e.data;
      if (m.type === 'progress') return onProgress(m.bytes);
      worker.terminate();
      if (m.type === 'done') resolve(m);
      else reject(new Error(m.message));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || 'the hashing worker failed'));
    };
    worker.postMessage({ file, blockSize });
  });
}
