// A block written as it arrives (store/block-intake.ts): pieces hashed and written as they
// come, readable back while unverified, and the block visible only whole and verified.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { alignedBuffers } from '../../../src/core/aligned-memory.js';
import { blockPool } from '../../../src/core/block-pool.js';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { WRITE_BATCH } from '../../../src/store/block-intake.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('canopy-intake-');
const KIB = 1024;

function tempFiles(volume: string): string[] {
  return readdirSync(path.join(volume, 'tmp'));
}

/** `block` cut in pieces of `size`, each copied into pooled (page-aligned) memory as the wire's frame copier puts them. */
function pooledPieces(block: Buffer, size: number) {
  const out = [];
  for (let at = 0; at < block.length; at += size) {
    const bytes = block.subarray(at, Math.min(block.length, at + size));
    const lease = blockPool.take(bytes.length);
    bytes.copy(lease.bytes);
    out.push(lease);
  }
  return out;
}

async function collect(pieces: AsyncIterable<{ bytes: Buffer; flushed: () => void }>): Promise<Buffer> {
  const got: Buffer[] = [];
  for await (const p of pieces) {
    got.push(Buffer.from(p.bytes));
    p.flushed();
  }
  return Buffer.concat(got);
}

describe('block intake', () => {
  for (const [name, length, size] of [
    ['whole pages in aligned memory', 1024 * KIB, 256 * KIB],
    ['a last piece not of whole pages', 1024 * KIB + 1234, 256 * KIB],
    ['pieces not of whole pages (staged from the first)', 700 * KIB + 5, 100 * KIB + 3],
  ] as const) {
    it(`writes a block as it arrives and keeps it once verified: ${name}`, async () => {
      const dir = tempDir();
      const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
      const block = randomBytes(length);
      const hash = sha256Hex(block);
      const intake = store.intake(hash, block.length);
      const written: number[] = [];
      intake.onWritten = (n) => written.push(n);
      const leases = pooledPieces(block, size);
      for (const lease of leases) {
        intake.push(lease.bytes, lease);
        lease.release(); // the intake holds its own share until written
      }
      assert.equal(store.has(hash), false, 'nothing visible before finish');
      await intake.finish();
      assert.ok(store.has(hash));
      assert.deepEqual(await store.get(hash), block);
      assert.deepEqual(tempFiles(path.join(dir, 'v0')), [], 'no temp file left');
      assert.ok(written.length > 0 && written.every((n, i) => i === 0 || n >= written[i - 1]!));
      store.close();
    });
  }

  it('reads back what is written before the block is whole, and drops a block that does not match', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    const block = randomBytes(4 * WRITE_BATCH);
    const intake = store.intake(sha256Hex(Buffer.from('another block')), block.length);
    let upTo = 0;
    const some = new Promise<void>((resolve) => {
      intake.onWritten = (n) => {
        upTo = n;
        if (n >= WRITE_BATCH) resolve();
      };
    });
    const [a, b] = alignedBuffers(2 * WRITE_BATCH, 2, false);
    block.copy(a!, 0, 0, 2 * WRITE_BATCH);
    block.copy(b!, 0, 2 * WRITE_BATCH);
    // Written once a batch's worth is waiting.
    intake.push(a!.subarray(0, WRITE_BATCH / 2));
    assert.equal(upTo, 0);
    intake.push(a!.subarray(WRITE_BATCH / 2));
    await some;
    assert.deepEqual(await collect(intake.read(100, upTo)), block.subarray(100, upTo), 'the unverified prefix, from the temp file');
    intake.push(b!);
    await assert.rejects(intake.finish(), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_BLOCK_HASH_MISMATCH');
    assert.deepEqual(tempFiles(path.join(dir, 'v0')), [], 'the temp file is removed');
    store.close();
  });

  it('refuses more bytes than the block has, and leaves nothing when aborted', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    const block = randomBytes(300 * KIB);
    const intake = store.intake(sha256Hex(block), block.length);
    intake.push(block.subarray(0, 200 * KIB));
    assert.throws(() => intake.push(block.subarray(0, 200 * KIB)), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_BLOCK_HASH_MISMATCH');
    await intake.abort();
    assert.equal(store.has(sha256Hex(block)), false);
    assert.deepEqual(tempFiles(path.join(dir, 'v0')), []);
    store.close();
  });

  it('keeps one copy when two intakes of the same block finish together, and counts it once', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }, { path: path.join(dir, 'v1') }]);
    const block = randomBytes(600 * KIB);
    const hash = sha256Hex(block);
    const one = store.intake(hash, block.length);
    const two = store.intake(hash, block.length);
    one.push(block);
    two.push(block);
    await Promise.all([one.finish(), two.finish()]);
    assert.ok(store.has(hash));
    const files = ['v0', 'v1'].flatMap((v) => readdirSync(path.join(dir, v, 'blocks'), { recursive: true }).filter((f) => String(f).endsWith(hash)));
    assert.equal(files.length, 1, 'one block file');
    assert.equal(store.stats().blocks, 1);
    assert.deepEqual([...tempFiles(path.join(dir, 'v0')), ...tempFiles(path.join(dir, 'v1'))], []);
    store.close();
  });
});
