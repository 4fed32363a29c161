/**
 * SHA-256 of blocks on worker threads, so hashing uses both cores and the main thread is
 * free to keep reads and writes going. Block buffers come from a pool backed by
 * SharedArrayBuffer, so a worker hashes them in place: only {buffer, offset, length} is
 * posted, never the bytes. A buffer that is not shared is hashed on the calling thread.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface Hasher {
  hash(data: Buffer): Promise<string>;
  close(): Promise<void>;
}

export const mainThreadHasher: Hasher = {
  hash: async (data) => createHash('sha256').update(data).digest('hex'),
  close: async () => undefined,
};

// Plain JavaScript evaluated in the worker: no loader or build step is needed to start it.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  parentPort.postMessage({ id: m.id, hash: createHash('sha256').update(new Uint8Array(m.buffer, m.offset, m.length)).digest('hex') });
});`;

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (h: string) => void; reject: (e: Error) => void }>;
}

export class WorkerHasher implements Hasher {
  private readonly slots: Slot[];
  private nextId = 0;

  constructor(threads = 2) {
    this.slots = Array.from({ length: threads }, () => {
      const slot: Slot = { worker: new Worker(WORKER_SOURCE, { eval: true }), pending: new Map() };
      slot.worker.on('message', (m: { id: number; hash: string }) => {
        slot.pending.get(m.id)?.resolve(m.hash);
        slot.pending.delete(m.id);
      });
      slot.worker.on('error', (err) => {
        for (const p of slot.pending.values()) p.reject(err);
        slot.pending.clear();
      });
      return slot;
    });
  }

  hash(data: Buffer): Promise<string> {
    if (!(data.buffer instanceof SharedArrayBuffer)) return mainThreadHasher.hash(data);
    // The least busy worker; ties go to the first.
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, buffer: data.buffer, offset: data.byteOffset, length: data.length });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
