/**
 * SHA-256 of blocks on worker threads, so hashing uses both cores and the main thread is
 * free to keep reads and writes going. Block buffers come from a pool backed by
 * SharedArrayBuffer, so a worker hashes them in place: only {buffer, offset, length} is
 * posted, never the bytes. A buffer that is not shared is hashed on the calling thread.
 *
 * `scanAndHash` is the scan cutter's first look at a chunk just read (scan-cutter.ts): which
 * of its pages are all zeros and, when none is, the chunk's hash, in one trip to a worker.
 * Whoever touches a buffer just filled by a read first pays for bringing its pages in (3-8 ms
 * per 4 MiB on this project's VM, a second pass 0.2 ms: notes/issue-20.md Session 10), and
 * that was the main thread's zero scan, ~0.7 s per GiB; now a worker pays it, and its hash
 * then runs over warm memory. A chunk with a zero page is cut by the main thread as before
 * and its blocks hashed then: no hash is spent on it here.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** A worker answers a batch in parts of at least this many bytes looked at (2 blocks of 1 MiB, one of a tree's 4 MiB). */
const REPLY_BYTES = 2 * 2 ** 20;

/** What a scan found: the pages (PAGE bytes each, the last one shorter) that are all zeros, or, with none, the hash. */
export type ScanResult = { hash: string; zeroPages?: undefined } | { hash?: undefined; zeroPages: Uint8Array };

/** Bytes of a local file, at `position` in the file at `path`. */
export interface LocalBytes {
  path: string;
  position: number;
}

export interface Hasher {
  hash(data: Buffer): Promise<string>;
  /** Marks the all-zero pages of `data` (`page` bytes each); when there are none, hashes it. */
  scanAndHash(data: Buffer, page: number): Promise<ScanResult>;
  /**
   * Reads `data.length` bytes of a local file into `data` and scans them as `scanAndHash`
   * does, all on a worker: no `scan` when the file ended first (`bytesRead` says where).
   * Absent when there is no worker to do it.
   */
  readAndScan?(at: LocalBytes, data: Buffer, page: number): Promise<{ bytesRead: number; scan?: ScanResult }>;
  close(): Promise<void>;
}

/**
 * Flags (1) the pages of `data` that are all zeros, or returns undefined when none is. The
 * worker runs the same function from its source text (SCAN_SOURCE), so both agree.
 */
export function zeroPagesOf(data: Uint8Array, page: number): Uint8Array | undefined {
  let flags: Uint8Array | undefined;
  const zero = new Uint8Array(page);
  const pages = Math.ceil(data.length / page);
  for (let i = 0; i < pages; i++) {
    const start = i * page;
    const end = Math.min(data.length, start + page);
    // Most pages of real data fail on their first or last byte.
    if (data[start] !== 0 || data[end - 1] !== 0) continue;
    if (Buffer.compare(data.subarray(start, end), zero.subarray(0, end - start)) !== 0) continue;
    flags ??= new Uint8Array(pages);
    flags[i] = 1;
  }
  return flags;
}

function scanHere(data: Buffer, page: number): ScanResult {
  const zeroPages = zeroPagesOf(data, page);
  return zeroPages ? { zeroPages } : { hash: createHash('sha256').update(data).digest('hex') };
}

export const mainThreadHasher: Hasher = {
  hash: async (data) => createHash('sha256').update(data).digest('hex'),
  scanAndHash: async (data, page) => scanHere(data, page),
  close: async () => undefined,
};

// Plain JavaScript evaluated in the worker: no loader or build step is needed to start it.
// A message is a batch of jobs; the answers go back together, or sooner once REPLY_BYTES were
// looked at (a chunk's answer should not wait long for the next ones'). A job with a `path`
// reads that file's bytes into the buffer first (readAndScan).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const zeroPagesOf = ${zeroPagesOf.toString()};
function readAt(m, data) {
  const fd = openSync(m.path, 'r');
  try {
    let got = 0;
    for (let n = 1; got < data.length && n > 0; got += n) n = readSync(fd, data, got, data.length - got, m.position + got);
    return got;
  } finally {
    closeSync(fd);
  }
}
function run(m) {
  const data = new Uint8Array(m.buffer, m.offset, m.length);
  let bytesRead;
  if (m.path !== undefined) {
    try {
      bytesRead = readAt(m, data);
    } catch (e) {
      return { id: m.id, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } };
    }
    if (bytesRead < m.length) return { id: m.id, bytesRead };
  }
  const zeroPages = m.page ? zeroPagesOf(data, m.page) : undefined;
  if (zeroPages) return { id: m.id, bytesRead, zeroPages };
  return { id: m.id, bytesRead, hash: createHash('sha256').update(data).digest('hex') };
}
parentPort.on('message', (jobs) => {
  let replies = [];
  let bytes = 0;
  for (const m of jobs) {
    replies.push(run(m));
    bytes += m.length;
    if (bytes >= ${REPLY_BYTES}) {
      parentPort.postMessage(replies);
      replies = [];
      bytes = 0;
    }
  }
  if (replies.length > 0) parentPort.postMessage(replies);
});`;

/** A worker's answer: the scan's, and for a read, how many bytes it read or the error it met. */
interface Reply {
  id: number;
  hash?: string;
  zeroPages?: Uint8Array;
  bytesRead?: number;
  error?: { message: string; code?: string };
}

/** A job for a worker: the bytes (in shared memory), the page size to scan by (0: hash only), the file to read them from. */
interface Job extends Partial<LocalBytes> {
  id: number;
  buffer: ArrayBufferLike;
  offset: number;
  length: number;
  page: number;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>;
  /** Jobs posted together at the end of this turn of the event loop. */
  queued: Job[];
  queuedBytes: number;
}

function scanOf(r: Reply): ScanResult {
  return r.zeroPages ? { zeroPages: r.zeroPages } : { hash: r.hash! };
}

export class WorkerHasher implements Hasher {
  private readonly slots: Slot[];
  private nextId = 0;

  constructor(threads = 2) {
    this.slots = Array.from({ length: threads }, () => {
      const slot: Slot = { worker: new Worker(WORKER_SOURCE, { eval: true }), pending: new Map(), queued: [], queuedBytes: 0 };
      slot.worker.on('message', (replies: Reply[]) => {
        for (const m of replies) {
          slot.pending.get(m.id)?.resolve(m);
          slot.pending.delete(m.id);
        }
      });
      slot.worker.on('error', (err) => {
        for (const p of slot.pending.values()) p.reject(err);
        slot.pending.clear();
      });
      return slot;
    });
  }

  async hash(data: Buffer): Promise<string> {
    if (!(data.buffer instanceof SharedArrayBuffer)) return mainThreadHasher.hash(data);
    return (await this.post(data, 0)).hash!;
  }

  async scanAndHash(data: Buffer, page: number): Promise<ScanResult> {
    if (!(data.buffer instanceof SharedArrayBuffer)) return mainThreadHasher.scanAndHash(data, page);
    return scanOf(await this.post(data, page));
  }

  /**
   * A small file's read on a worker (a tree's: ingest-directory.ts) costs one message each
   * way, against three trips through libuv's thread pool (open, read, close), each waking
   * a thread, queued behind the store's data syncs, plus a message to hash the bytes after.
   */
  async readAndScan(at: LocalBytes, data: Buffer, page: number): Promise<{ bytesRead: number; scan?: ScanResult }> {
    if (!(data.buffer instanceof SharedArrayBuffer)) throw new TypeError('readAndScan needs a buffer in shared memory');
    const r = await this.post(data, page, at);
    if (r.error) throw Object.assign(new Error(r.error.message), r.error);
    return r.bytesRead! < data.length ? { bytesRead: r.bytesRead! } : { bytesRead: r.bytesRead!, scan: scanOf(r) };
  }

  /**
   * To the least busy worker (ties: the first); `page` 0: hash only; `at`: read the bytes
   * from that file first. Jobs queued in one turn of the event loop go in one message: a
   * message wakes its worker, and each wake-up cost the main thread as much as the sending
   * (postMessage was ~10 % of a 2,000-file publish's main thread, notes/issue-20.md Session
   * 13). A worker's answers to one batch come back together, so the jobs they free go out
   * together in turn.
   */
  private post(data: Buffer, page: number, at?: LocalBytes): Promise<Reply> {
    // Small jobs of one turn (a tree's small files) share a message; big ones go each to the least busy worker.
    const slot = this.slots.find((s) => s.queuedBytes > 0 && s.queuedBytes + data.length <= REPLY_BYTES) ?? this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.queued.length === 0) setImmediate(() => this.send(slot));
      slot.queued.push({ id, buffer: data.buffer, offset: data.byteOffset, length: data.length, page, ...at });
      slot.queuedBytes += data.length;
    });
  }

  private send(slot: Slot): void {
    const jobs = slot.queued;
    slot.queued = [];
    slot.queuedBytes = 0;
    slot.worker.postMessage(jobs);
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
