import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BlockRef, Manifest } from '../../../src/core/manifest.js';
import type { BlockStore } from '../../../src/store/block-store.js';
import { VirtualFile } from '../../../src/vfile/virtual-file.js';

function tiled(sizes: number[]): BlockRef[] {
  let offset = 0;
  return sizes.map((length) => {
    const b = { track: 0, index: 0, offset, length, hash: '0'.repeat(64) };
    offset += length;
    return b;
  });
}

describe('virtual file block lookup', () => {
  it('finds the blocks covering any range of variable-size blocks', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 40 }), fc.nat(), fc.nat(), (sizes, a, b) => {
        const blocks = tiled(sizes);
        const size = sizes.reduce((s, n) => s + n, 0);
        const start = a % size;
        const end = Math.min(size - 1, start + (b % size));
        const file = new VirtualFile({ blocks, size, blockSize: 50 } as unknown as Manifest, {} as BlockStore);
        const expected = blocks.map((blk, i) => ({ blk, i })).filter(({ blk }) => blk.offset <= end && blk.offset + blk.length > start).map(({ i }) => i);
        assert.deepEqual(file.blocksFor(start, end), expected);
      }),
    );
  });
});
