import type { LocalBytes } from './hash-workers.js';

/** One block as cut from the file: where it belongs, its bytes (a pooled buffer) and how to give the buffer back. */
export interface CutBlock {
  readonly track: number;
  readonly index: number;
  readonly offset: number;
  readonly data: Buffer;
  readonly release: () => void;
  /** The SHA-256 of `data` (hex), when the cutter had it computed already (scan-cutter.ts); else the pipeline hashes it. */
  readonly hash?: string;
}

/** Positional reads, as FileHandle.read does them: a local file, a directory tree laid out as one file, or an origin read by ranges. */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Where the bytes at `position` lie when they are a local file's, so a hash worker may read them itself (hash-workers.ts `readAndScan`). */
  localFile?(position: number): LocalBytes | undefined;
}
