/**
 * The generic analyser's cut: one sequential pass that finds the substantive content and
 * cuts it. The file is looked at in 4 KiB pages. A run of zero pages at the very start
 * (leading padding) or of at least `minHole` bytes elsewhere is a hole: not stored, read
 * back as zeros. Each run of substantive bytes between holes is a track, cut into blocks
 * from its start (the last block of a track is shorter). Shorter zero runs are data.
 *
 * A chunk with no zero page that starts on a block boundary becomes a block as it is, with
 * no copy (the common case: media, archives, model weights); otherwise pages are copied
 * into pooled block buffers.
 */
import { CanopyError } from '../core/errors.js';
import type { Hole } from '../core/manifest.js';
import type { PlannedTrack } from './analysis.js';
import type { BufferPool } from './buffer-pool.js';
import type { CutBlock, PositionalReader } from './cut-block.js';

export const PAGE = 4096;
const ZERO = Buffer.alloc(PAGE);
const READ_AHEAD = 2;

export function isZeroRange(buf: Buffer, start: number, end: number): boolean {
  if (buf[start] !== 0 || buf[end - 1] !== 0) return false;
  return buf.compare(ZERO, 0, end - start, start, end) === 0;
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

  constructor(
    private readonly fh: PositionalReader,
    private readonly size: number,
    private readonly blockSize: number,
    private readonly readPool: BufferPool,
    private readonly blockPool: BufferPool,
    private readonly minHole = blockSize,
  ) {}

  async *blocks(): AsyncGenerator<CutBlock> {
    const pending: Promise<{ buf: Buffer; pos: number; n: number }>[] = [];
    let next = 0;
    const readAhead = () => {
      while (pending.length < READ_AHEAD && next < this.size) {
        const pos = next;
        const n = Math.min(this.blockSize, this.size - pos);
        next += n;
        const p = this.readChunk(pos, n);
        p.catch(() => undefined);
        pending.push(p);
      }
    };
    try {
      readAhead();
      while (pending.length > 0) {
        const { buf, pos, n } = await pending.shift()!;
        readAhead();
        yield* this.chunk(buf, pos, n);
      }
      yield* this.flushZeros(this.size);
      yield* this.closeTrack();
    } finally {
      for (const p of pending) p.then((c) => this.readPool.release(c.buf), () => undefined);
    }
  }

  private async readChunk(pos: number, n: number): Promise<{ buf: Buffer; pos: number; n: number }> {
    const buf = await this.readPool.acquire();
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, pos + got);
      if (bytesRead === 0) {
        this.readPool.release(buf);
        throw new CanopyError('ERR_FILE_NOT_FOUND', `the file ended at ${pos + got} while being read; was it changed during ingest?`);
      }
      got += bytesRead;
    }
    return { buf, pos, n };
  }

  private async *chunk(buf: Buffer, pos: number, n: number): AsyncGenerator<CutBlock> {
    const pages = Math.ceil(n / PAGE);
    const zero: boolean[] = new Array<boolean>(pages);
    let anyZero = false;
    for (let i = 0; i < pages; i++) {
      zero[i] = isZeroRange(buf, i * PAGE, Math.min(n, (i + 1) * PAGE));
      anyZero ||= zero[i]!;
    }
    if (!anyZero && this.zeroStart === undefined && this.cur === undefined) {
      // Block-aligned substantive chunk: it is the block (see the header comment).
      if (this.trackStart === undefined) this.openTrack(pos);
      this.dataEnd = pos + n;
      yield { track: this.tracks.length - 1, index: this.blockIndex++, offset: pos, data: buf.subarray(0, n), release: () => this.readPool.release(buf) };
      return;
    }
    try {
      for (let i = 0; i < pages; i++) {
        const p = pos + i * PAGE;
        const len = Math.min(PAGE, n - i * PAGE);
        if (zero[i]) {
          this.zeroStart ??= p;
          continue;
        }
        yield* this.flushZeros(p);
        yield* this.append(p, len, (dst, at, from, count) => buf.copy(dst, at, i * PAGE + from, i * PAGE + from + count));
      }
    } finally {
      this.readPool.release(buf);
    }
  }

  /** Decides what a pending zero run ending at `upto` is: a hole, or data to store. */
  private async *flushZeros(upto: number): AsyncGenerator<CutBlock> {
    const start = this.zeroStart;
    if (start === undefined) return;
    this.zeroStart = undefined;
    const run = upto - start;
    if (this.trackStart === undefined || run >= this.minHole) {
      yield* this.closeTrack();
      this.holes.push({ offset: start, length: run });
      return;
    }
    yield* this.append(start, run, (dst, at, _from, count) => dst.fill(0, at, at + count));
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
