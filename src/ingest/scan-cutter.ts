/**
 * The generic analyser's cut: one sequential pass that finds the substantive content and
 * cuts it. The file is looked at in 4 KiB pages. A run of zero pages at the very start
 * (leading padding) or of at least `minHole` bytes elsewhere is a hole: not stored, read
 * back as zeros. Each run of substantive bytes between holes is a track, cut into blocks
 * from its start (the last block of a track is shorter). Shorter zero runs are data.
 *
 * With `extents` (a directory: one per file, ingest-directory.ts), only those ranges are
 * read, each scanned as if it were a file of its own (a track never runs from one into the
 * next, and a file's cut depends on its bytes alone); what lies between them is a hole.
 *
 * A chunk with no zero page that starts on a block boundary becomes a block as it is, with
 * no copy (the common case: media, archives, model weights); otherwise pages are copied
 * into pooled block buffers.
 */
import { CanopyError } from '../core/errors.js';
import type { Hole } from '../core/manifest.js';
import { MAX_TRACKS } from '../core/manifest-format.js';
import type { PlannedTrack } from './analysis.js';
import type { BufferPool } from './buffer-pool.js';
import { zeroPagesOf, type LocalBytes, type ScanResult } from './hash-workers.js';
import type { CutBlock, PositionalReader } from './cut-block.js';

export const PAGE = 4096;
const READ_AHEAD = 2;
/** Chunks up to this size are scanned by the cutter itself, larger ones by `scan` (ScanOptions). */
export const SCAN_HERE_BYTES = 256 * 1024;

/** A range of the content to read and cut. */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

export interface ScanOptions {
  /** The ranges to read, in offset order, not overlapping (default: all of [0, size)); the rest is holes. */
  extents?: readonly Extent[];
  /** Reads in flight (default 2; more for a tree of small files, where each read waits on an open). */
  readAhead?: number;
  /** The shortest zero run inside a track that is a hole (default: the block size). */
  minHole?: number;
  /**
   * Tracks at most (default: what a manifest may list). A hole inside a track starts a new
   * track only while every extent still to come keeps one: past that, zero runs inside a
   * track are data (a tree of 65,536 sparse files stays publishable).
   */
  maxTracks?: number;
  /**
   * The first look at each chunk just read, started as its read completes: its zero pages,
   * or its hash when it has none (a hash worker, hash-workers.ts `scanAndHash`). Without it
   * the cutter scans the pages itself and leaves every hash to the pipeline.
   */
  scan?: (data: Buffer) => Promise<ScanResult>;
  /**
   * A small chunk of a local file (`PositionalReader.localFile`) is read and scanned in one
   * trip by this, instead of read here and scanned after (hash-workers.ts `readAndScan`).
   */
  readAndScan?: (at: LocalBytes, data: Buffer) => Promise<{ bytesRead: number; scan?: ScanResult }>;
}

interface Chunk {
  pos: number;
  n: number;
  /** How many extents come after this chunk's. */
  extentsAfter: number;
  /** The end of the extent, when this is its last chunk. */
  extentEnd?: number;
}

function* chunksOf(extents: readonly Extent[], blockSize: number): Generator<Chunk> {
  for (const [i, e] of extents.entries()) {
    const end = e.offset + e.length;
    const extentsAfter = extents.length - 1 - i;
    for (let pos = e.offset; pos < end; pos += blockSize) {
      const n = Math.min(blockSize, end - pos);
      yield pos + n === end ? { pos, n, extentsAfter, extentEnd: end } : { pos, n, extentsAfter };
    }
  }
}


interface Read {
  buf: Buffer;
  chunk: Chunk;
  scanned: Promise<ScanResult | undefined>;
}

interface Open {
  buf: Buffer;
  filled: number;
  offset: number;
}

export class ScanCutter {
  readonly tracks: PlannedTrack[] = [];
  readonly holes: Hole[] = [];
  private trackStart: number | undefined;
  private dataEnd = 0;
  private blockIndex = 0;
  private cur: Open | undefined;
  private zeroStart: number | undefined;
  private readonly extents: readonly Extent[];
  private readonly readAhead: number;
  private readonly minHole: number;
  private readonly maxTracks: number;
  private readonly scan: ((data: Buffer) => Promise<ScanResult>) | undefined;
  private readonly readAndScan: ScanOptions['readAndScan'];
  private extentsAfter = 0;

  constructor(
    private readonly fh: PositionalReader,
    private readonly size: number,
    private readonly blockSize: number,
    private readonly readPool: BufferPool,
    private readonly blockPool: BufferPool,
    options: ScanOptions = {},
  ) {
    this.extents = options.extents ?? (size > 0 ? [{ offset: 0, length: size }] : []);
    this.readAhead = options.readAhead ?? READ_AHEAD;
    this.minHole = options.minHole ?? blockSize;
    this.maxTracks = options.maxTracks ?? MAX_TRACKS;
    this.scan = options.scan;
    this.readAndScan = options.readAndScan;
  }

  async *blocks(): AsyncGenerator<CutBlock> {
    const pending: Promise<Read>[] = [];
    const jobs = chunksOf(this.extents, this.blockSize);
    const readAhead = () => {
      while (pending.length < this.readAhead) {
        const next = jobs.next();
        if (next.done) return;
        const p = this.readChunk(next.value);
        p.catch(() => undefined);
        pending.push(p);
      }
    };
    let covered = 0;
    try {
      readAhead();
      while (pending.length > 0) {
        const { buf, chunk, scanned } = await pending.shift()!;
        readAhead();
        // A gap before an extent: a hole of the layout (between the files of a tree).
        if (chunk.pos > covered) this.addHole(covered, chunk.pos - covered);
        covered = chunk.pos + chunk.n;
        this.extentsAfter = chunk.extentsAfter;
        yield* this.chunk(buf, chunk.pos, chunk.n, await this.scanned(buf, scanned));
        if (chunk.extentEnd !== undefined) {
          yield* this.flushZeros(chunk.extentEnd, false);
          yield* this.closeTrack();
        }
      }
      if (this.size > covered) this.addHole(covered, this.size - covered);
    } finally {
      // A buffer goes back once nothing reads it (a worker may still be scanning it).
      for (const p of pending) p.then((c) => void c.scanned.catch(() => undefined).then(() => this.readPool.release(c.buf)), () => undefined);
    }
  }

  /** The chunk's scan; if it failed, its buffer goes back to the pool before the error goes on. */
  private async scanned(buf: Buffer, scanned: Promise<ScanResult | undefined>): Promise<ScanResult | undefined> {
    try {
      return await scanned;
    } catch (err) {
      this.readPool.release(buf);
      throw err;
    }
  }

  private async readChunk(chunk: Chunk): Promise<Read> {
    const { pos, n } = chunk;
    const buf = await this.readPool.acquire();
    const local = this.readAndScan && n <= SCAN_HERE_BYTES ? this.fh.localFile?.(pos) : undefined;
    if (local) return { buf, chunk, scanned: Promise.resolve(await this.readElsewhere(local, buf, pos, n)) };
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, pos + got);
      if (bytesRead === 0) this.ended(buf, pos + got);
      got += bytesRead;
    }
    // Started now, so the workers look at it while the cutter is still busy with earlier chunks.
    // A small chunk (a tree's small file) is checked here: its pages cost little to bring in,
    // and a worker's round trip before each cut made a publish of 2,000 files 5 % slower.
    const scanned = this.scan && n > SCAN_HERE_BYTES ? this.scan(buf.subarray(0, n)) : Promise.resolve(undefined);
    scanned.catch(() => undefined);
    return { buf, chunk, scanned };
  }

  /** A small chunk of a local file, read and scanned by `readAndScan` (a hash worker). */
  private async readElsewhere(at: LocalBytes, buf: Buffer, pos: number, n: number): Promise<ScanResult> {
    let done: { bytesRead: number; scan?: ScanResult };
    try {
      done = await this.readAndScan!(at, buf.subarray(0, n));
    } catch (err) {
      this.readPool.release(buf);
      throw err;
    }
    if (!done.scan) this.ended(buf, pos + done.bytesRead);
    return done.scan;
  }

  private ended(buf: Buffer, at: number): never {
    this.readPool.release(buf);
    throw new CanopyError('ERR_FILE_NOT_FOUND', `the file ended at ${at} while being read; was it changed during ingest?`);
  }

  /** `scanned`: the chunk's zero pages or hash, when a scanner looked at it first (else the pages are checked here). */
  private async *chunk(buf: Buffer, pos: number, n: number, scanned: ScanResult | undefined): AsyncGenerator<CutBlock> {
    const pages = Math.ceil(n / PAGE);
    // The same page test as the workers' (hash-workers.ts), here when no scanner looked first.
    const zero = scanned ? scanned.zeroPages : zeroPagesOf(buf.subarray(0, n), PAGE);
    if (!zero && this.zeroStart === undefined && this.cur === undefined) {
      // Block-aligned substantive chunk: it is the block (see the header comment), with the scanner's hash of it.
      if (this.trackStart === undefined) this.openTrack(pos);
      this.dataEnd = pos + n;
      yield { track: this.tracks.length - 1, index: this.blockIndex++, offset: pos, data: buf.subarray(0, n), release: () => this.readPool.release(buf), hash: scanned?.hash };
      return;
    }
    try {
      for (let i = 0; i < pages; i++) {
        const p = pos + i * PAGE;
        const len = Math.min(PAGE, n - i * PAGE);
        if (zero?.[i] === 1) {
          this.zeroStart ??= p;
          continue;
        }
        yield* this.flushZeros(p, true);
        yield* this.append(p, len, (dst, at, from, count) => buf.copy(dst, at, i * PAGE + from, i * PAGE + from + count));
      }
    } finally {
      this.readPool.release(buf);
    }
  }

  /** Decides what a pending zero run ending at `upto` is: a hole, or data to store; `more`: data follows in this extent. */
  private async *flushZeros(upto: number, more: boolean): AsyncGenerator<CutBlock> {
    const start = this.zeroStart;
    if (start === undefined) return;
    this.zeroStart = undefined;
    const run = upto - start;
    // A hole followed by more data opens a new track: only while the tracks still to come fit.
    const mayEnd = !more || this.tracks.length + 1 + this.extentsAfter <= this.maxTracks;
    if (this.trackStart === undefined || (run >= this.minHole && mayEnd)) {
      yield* this.closeTrack();
      this.addHole(start, run);
      return;
    }
    yield* this.append(start, run, (dst, at, _from, count) => dst.fill(0, at, at + count));
  }

  /** A hole right after another (a file's leading zeros after the gap before it) extends it: holes never touch. */
  private addHole(offset: number, length: number): void {
    const last = this.holes.at(-1);
    if (last && last.offset + last.length === offset) this.holes[this.holes.length - 1] = { offset: last.offset, length: last.length + length };
    else this.holes.push({ offset, length });
  }

  private openTrack(at: number): void {
    this.trackStart = at;
    this.blockIndex = 0;
    this.tracks.push({ kind: 'data', offset: at, length: 0 });
  }

  private async *closeTrack(): AsyncGenerator<CutBlock> {
    if (this.trackStart === undefined) return;
    if (this.cur) yield this.emit();
    this.tracks[this.tracks.length - 1] = { kind: 'data', offset: this.trackStart, length: this.dataEnd - this.trackStart };
    this.trackStart = undefined;
  }

  /** Appends `length` bytes at file offset `at`; `fill(dst, dstOffset, from, n)` writes bytes [from, from+n) of them. */
  private async *append(at: number, length: number, fill: (dst: Buffer, dstOffset: number, from: number, n: number) => void): AsyncGenerator<CutBlock> {
    if (this.trackStart === undefined) this.openTrack(at);
    let done = 0;
    while (done < length) {
      this.cur ??= { buf: await this.blockPool.acquire(), filled: 0, offset: at + done };
      const n = Math.min(this.blockSize - this.cur.filled, length - done);
      fill(this.cur.buf, this.cur.filled, done, n);
      this.cur.filled += n;
      done += n;
      if (this.cur.filled === this.blockSize) yield this.emit();
    }
    this.dataEnd = at + length;
  }

  private emit(): CutBlock {
    const { buf, filled, offset } = this.cur!;
    this.cur = undefined;
    return { track: this.tracks.length - 1, index: this.blockIndex++, offset, data: buf.subarray(0, filled), release: () => this.blockPool.release(buf) };
  }
}
