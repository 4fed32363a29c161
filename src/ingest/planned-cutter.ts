/**
 * Cuts tracks whose extents are known (MP4, MPEG-TS) into blocks: each block is read
 * straight into a pooled buffer at its file offset, no copy. Up to READ_AHEAD reads are in
 * flight, so the disk works while the previous block is being hashed.
 */
import { CanopyError } from '../core/errors.js';
import type { PlannedTrack } from './analysis.js';
import type { BufferPool } from './buffer-pool.js';
import type { CutBlock, PositionalReader } from './cut-block.js';

const READ_AHEAD = 3;

interface Job {
  track: number;
  index: number;
  offset: number;
  length: number;
}

function* jobs(tracks: readonly PlannedTrack[], blockSize: number): Generator<Job> {
  for (const [track, t] of tracks.entries()) {
    for (let index = 0, offset = t.offset; offset < t.offset + t.length; index++, offset += blockSize) {
      yield { track, index, offset, length: Math.min(blockSize, t.offset + t.length - offset) };
    }
  }
}

async function readJob(fh: PositionalReader, pool: BufferPool, job: Job): Promise<CutBlock> {
  const buf = await pool.acquire();
  let got = 0;
  while (got < job.length) {
    const { bytesRead } = await fh.read(buf, got, job.length - got, job.offset + got);
    if (bytesRead === 0) {
      pool.release(buf);
      throw new CanopyError('ERR_FILE_NOT_FOUND', `the file ended at ${job.offset + got} while being read; was it changed during ingest?`);
    }
    got += bytesRead;
  }
  return { track: job.track, index: job.index, offset: job.offset, data: buf.subarray(0, job.length), release: () => pool.release(buf) };
}

/** `readAhead`: reads in flight at once (more for a tree of small files, where each read waits on an open). */
export async function* cutPlanned(fh: PositionalReader, tracks: readonly PlannedTrack[], blockSize: number, pool: BufferPool, readAhead = READ_AHEAD): AsyncGenerator<CutBlock> {
  const pending: Promise<CutBlock>[] = [];
  try {
    for (const job of jobs(tracks, blockSize)) {
      const p = readJob(fh, pool, job);
      p.catch(() => undefined); // Awaited in order below; this only silences an early rejection.
      pending.push(p);
      if (pending.length >= readAhead) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    // On an early exit, give back the buffers of reads nobody will consume.
    for (const p of pending) p.then((b) => b.release(), () => undefined);
  }
}
