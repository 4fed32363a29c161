/**
 * The scan cutter's track budget: a hole inside a track opens a new track only while every
 * extent still to come keeps one, so a tree of many sparse files never lists more tracks
 * than a manifest may. Past the budget the zero runs are data: the bytes read back the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../../../src/ingest/buffer-pool.js';
import { ScanCutter, type ScanOptions } from '../../../src/ingest/scan-cutter.js';

const B = 4096;
const data = (seed: number) => Buffer.alloc(B, seed);
const zeros = (blocks: number) => Buffer.alloc(blocks * B);

async function cut(content: Buffer, options: ScanOptions) {
  const reader = { read: async (buf: Buffer, off: number, len: number, pos: number) => ({ bytesRead: content.copy(buf, off, pos, pos + len) }) };
  const scan = new ScanCutter(reader, content.length, B, new BufferPool(B, 3), new BufferPool(B, 3), options);
  const back = Buffer.alloc(content.length);
  for await (const b of scan.blocks()) {
    b.data.copy(back, b.offset);
    b.release();
  }
  return { tracks: scan.tracks, holes: scan.holes, back };
}

describe('ScanCutter track budget', () => {
  // Four runs of data, three holes of two blocks between them.
  const file = Buffer.concat([data(1), zeros(2), data(2), zeros(2), data(3), zeros(2), data(4)]);

  it('splits a file at every long zero run when the budget allows', async () => {
    const { tracks, holes, back } = await cut(file, {});
    assert.equal(tracks.length, 4);
    assert.equal(holes.length, 3);
    assert.deepEqual(back, file);
  });

  it('keeps zero runs as data past the budget, and the bytes read back the same', async () => {
    const { tracks, holes, back } = await cut(file, { maxTracks: 2 });
    assert.equal(tracks.length, 2);
    assert.equal(holes.length, 1);
    assert.deepEqual(back, file);
  });

  it('keeps a track for every extent still to come', async () => {
    // Two files, the gap between them a hole; 3 tracks: the first file splits once (the second needs its track).
    const content = Buffer.concat([file, zeros(1), file]);
    const extents = [{ offset: 0, length: file.length }, { offset: file.length + B, length: file.length }];
    const { tracks, holes, back } = await cut(content, { extents, maxTracks: 3 });
    assert.equal(tracks.length, 3);
    assert.ok(tracks.every((t, i) => i === 0 || t.offset >= tracks[i - 1]!.offset + tracks[i - 1]!.length));
    assert.equal(tracks.filter((t) => t.offset < file.length).length, 2, 'the first file is two tracks');
    assert.deepEqual(holes.map((h) => [h.offset, h.length]), [[B, 2 * B], [file.length, B]]);
    assert.deepEqual(back, content);
  });
});
