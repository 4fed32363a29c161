import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { blockPool } from '../../../src/core/block-pool.js';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import type { BlockRef, Manifest } from '../../../src/core/manifest.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { configuredReadAheadBytes, DEFAULT_READ_AHEAD_BUDGET, ReadAheadBudget } from '../../../src/vfile/read-ahead-budget.js';
import { VirtualFile } from '../../../src/vfile/virtual-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-ahead-'));
after(() => rmSync(dir, { recursive: true, force: true }));
blockPool.poison = true;

const BLOCK = 256 * 1024;
const MiB = 2 ** 20;

/** A store holding six blocks, counting the block reads asked of it. */
async function counted(name: string): Promise<{ store: BlockStore; manifest: Manifest; bytes: Buffer; reads: () => number }> {
  const store = new BlockStore(path.join(dir, name), [{ path: path.join(dir, name, 'v0') }]);
  const bytes = randomBytes(6 * BLOCK);
  const blocks: BlockRef[] = [];
  for (let i = 0; i < 6; i++) {
    const data = bytes.subarray(i * BLOCK, (i + 1) * BLOCK);
    blocks.push({ track: 0, index: i, offset: i * BLOCK, length: BLOCK, hash: sha256Hex(data) });
    await store.put(data);
  }
  let reads = 0;
  const getLease = store.getLease.bind(store);
  store.getLease = (hash: string) => {
    reads++;
    return getLease(hash);
  };
  return { store, manifest: { name: 'p.bin', size: bytes.length, blockSize: BLOCK, blocks } as unknown as Manifest, bytes, reads: () => reads };
}

/** Takes the first slice of a read and keeps it (a socket still sending it), after the loop has had time to start every load it wants. */
async function firstSlice(file: VirtualFile): Promise<{ it: AsyncGenerator<{ bytes: Buffer; release(): void }>; first: { bytes: Buffer; release(): void } }> {
  const it = file.slices(0, 6 * BLOCK - 1);
  const first = (await it.next()).value as { bytes: Buffer; release(): void };
  await new Promise((r) => setTimeout(r, 50));
  return { it, first };
}

async function drain(it: AsyncGenerator<{ bytes: Buffer; release(): void }>, first: { bytes: Buffer; release(): void }): Promise<Buffer> {
  const parts = [Buffer.from(first.bytes)];
  first.release();
  for await (const s of it) {
    parts.push(Buffer.from(s.bytes));
    s.release();
  }
  return Buffer.concat(parts);
}

describe('read-ahead budget', () => {
  it('takes only what fits and gets it back', () => {
    const b = new ReadAheadBudget(3 * MiB);
    assert.equal(b.tryTake(2 * MiB), true);
    assert.equal(b.tryTake(2 * MiB), false, 'past the bound');
    assert.equal(b.tryTake(MiB), true);
    assert.equal(b.usedBytes, 3 * MiB);
    b.give(2 * MiB);
    b.give(MiB);
    assert.equal(b.usedBytes, 0);
    assert.equal(new ReadAheadBudget(0).tryTake(1), false);
  });

  it('is 8 MiB unless CANOPY_READ_AHEAD says otherwise, and refuses a bad size', () => {
    assert.equal(DEFAULT_READ_AHEAD_BUDGET, 8 * MiB);
    assert.equal(configuredReadAheadBytes({}), 8 * MiB);
    assert.equal(configuredReadAheadBytes({ CANOPY_READ_AHEAD: '32MiB' }), 32 * MiB);
    assert.equal(configuredReadAheadBytes({ CANOPY_READ_AHEAD: '0' }), 0);
    assert.throws(() => configuredReadAheadBytes({ CANOPY_READ_AHEAD: 'lots' }), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_SIZE_SYNTAX');
  });

  it('lets a reader load a block past the next only while the node-wide budget has room', async () => {
    const { store, manifest, bytes, reads } = await counted('a');
    // No budget (a file opened outside a node's edge): the current block, the next and one more.
    const free = await firstSlice(new VirtualFile(manifest, store, { contentId: 'c' }));
    assert.equal(reads(), 3);
    assert.ok((await drain(free.it, free.first)).equals(bytes));

    // One block of budget, two readers: the first takes it, the second reads only the next block ahead.
    const budget = new ReadAheadBudget(BLOCK);
    const before = reads();
    const one = await firstSlice(new VirtualFile(manifest, store, { contentId: 'c', aheadBudget: budget }));
    assert.equal(reads() - before, 3);
    assert.equal(budget.usedBytes, BLOCK, 'the third block is charged while it waits its turn');
    const mid = reads();
    const two = await firstSlice(new VirtualFile(manifest, store, { contentId: 'c', aheadBudget: budget }));
    assert.equal(reads() - mid, 2, 'no room: the current and the next block only');
    assert.ok((await drain(one.it, one.first)).equals(bytes));
    assert.ok((await drain(two.it, two.first)).equals(bytes));
    assert.equal(budget.usedBytes, 0, 'all given back once the reads end');
    store.close();
  });

  it('gives the budget back when a reader stops early', async () => {
    const { store, manifest } = await counted('b');
    const budget = new ReadAheadBudget(4 * BLOCK);
    const r = await firstSlice(new VirtualFile(manifest, store, { contentId: 'c', aheadBudget: budget }));
    assert.equal(budget.usedBytes, BLOCK);
    r.first.release();
    await r.it.return(undefined);
    assert.equal(budget.usedBytes, 0);
    store.close();
  });
});
