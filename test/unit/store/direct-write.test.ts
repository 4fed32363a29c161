import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isPageAligned } from '../../../src/core/aligned-memory.js';
import { BlockPool } from '../../../src/core/block-pool.js';
import { inPlace, isDirectUnsupported, writeDirect } from '../../../src/store/direct-write.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('canopy-direct-');
const KIB = 1024;

/** Pieces as a block arrives over the wire: pool segments, the last one partly filled, and a small unpooled tail. */
function arrived(pool: BlockPool): { pieces: Buffer[]; whole: Buffer } {
  const leases = [pool.take(256 * KIB), pool.take(256 * KIB), pool.take(300 * KIB + 1)];
  for (const l of leases) randomBytes(l.bytes.length).copy(l.bytes);
  const pieces = [...leases.map((l) => l.bytes), randomBytes(300)];
  return { pieces, whole: Buffer.concat(pieces) };
}

describe('direct writes from where the bytes are', () => {
  it('takes the leading whole pages of page-aligned pieces as they are and stages the rest', () => {
    const pool = new BlockPool(8 * 1024 * KIB, true);
    const { pieces } = arrived(pool);
    assert.ok(pieces.slice(0, 3).every((p) => isPageAligned(p)), 'block-pool buffers start on a page');
    const [direct, rest] = inPlace(pieces);
    assert.deepEqual(direct.map((d) => d.length), [256 * KIB, 256 * KIB, 300 * KIB]);
    assert.equal(direct[0], pieces[0], 'a whole piece is written as it is, not copied');
    assert.deepEqual(rest.map((r) => r.length), [1, 300]);
    // An unaligned piece first: everything is staged.
    const [none, all] = inPlace([pieces[3]!, ...pieces.slice(0, 3)]);
    assert.equal(none.length, 0);
    assert.equal(all.length, 4);
  });

  it('writes a block of pool pieces whole and exact, with O_DIRECT', async (t) => {
    const pool = new BlockPool(8 * 1024 * KIB, true);
    const { pieces, whole } = arrived(pool);
    const file = path.join(tempDir(), 'block');
    let fh;
    try {
      fh = await writeDirect(file, pieces);
    } catch (err) {
      if (isDirectUnsupported(err)) return t.skip('this file system does not take O_DIRECT');
      throw err;
    }
    await fh.close();
    assert.deepEqual(readFileSync(file), whole);
  });
});
