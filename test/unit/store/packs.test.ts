import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BlockStore } from '../../../src/store/block-store.js';
import { PackArena } from '../../../src/store/pack-write.js';
import { SMALL_BLOCK_BYTES } from '../../../src/store/small-write.js';
import { Volume } from '../../../src/store/volume.js';

const root = mkdtempSync(path.join(tmpdir(), 'canopy-packs-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => path.join(root, `${name}-${n++}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const shardFiles = (volume: string) => readdirSync(path.join(volume, 'blocks')).flatMap((s) => readdirSync(path.join(volume, 'blocks', s)));
const packs = (volume: string) => readdirSync(path.join(volume, 'packs'));

/** Writes `blocks` as an ingest does (deferred, one writer), scribbling over each buffer once staged. */
async function ingest(store: BlockStore, blocks: Buffer[]): Promise<string[]> {
  const writer = store.expectWrites();
  const copies = blocks.map((b) => Buffer.from(b));
  const durables = [];
  for (const [i, b] of copies.entries()) {
    const { durable } = await store.stageHashed(sha(b), b, { stripe: 'p', index: i }, true);
    b.fill(0xee); // The store must not read the buffer after staging.
    durables.push(durable);
  }
  writer.done();
  await Promise.all(durables);
  await writer.durable();
  return blocks.map(sha);
}

describe('packs of small blocks', () => {
  it("an ingest's small blocks of one batch go into one pack, read back whole and in pieces; a large one keeps its own file", async () => {
    const vol = fresh('vol');
    const store = new BlockStore(fresh('data'), [{ path: vol }]);
    const small = Array.from({ length: 12 }, (_, i) => randomBytes(1 + i * 9_000));
    const large = randomBytes(SMALL_BLOCK_BYTES + 1);
    const hashes = await ingest(store, [...small, large]);
    assert.equal(packs(vol).length, 1, 'one pack for the batch');
    assert.deepEqual(shardFiles(vol), [sha(large)], 'only the large block has a file of its own');
    assert.equal(statSync(path.join(vol, 'packs', packs(vol)[0]!)).size, small.reduce((a, b) => a + b.length, 0));
    for (const [i, b] of [...small, large].entries()) assert.ok((await store.get(hashes[i]!)).equals(b), `block ${i} whole`);
    const pieces: Buffer[] = [];
    for await (const p of store.pieces(hashes[11]!, 4096)!) {
      pieces.push(Buffer.from(p.bytes));
      p.flushed();
    }
    assert.ok(Buffer.concat(pieces).equals(small[11]!), 'in pieces, from its offset in the pack');
    assert.deepEqual(readdirSync(path.join(vol, 'tmp')), []);
    store.close();
  });

  it('a block put on its own (a download) keeps its own file', async () => {
    const vol = fresh('vol');
    const store = new BlockStore(fresh('data'), [{ path: vol }]);
    const b = randomBytes(5000);
    await store.put(b);
    assert.deepEqual(shardFiles(vol), [sha(b)]);
    assert.deepEqual(packs(vol), []);
    store.close();
  });

  it('a pack goes when its last block is deleted, not before', async () => {
    const vol = fresh('vol');
    const store = new BlockStore(fresh('data'), [{ path: vol }]);
    const hashes = await ingest(store, [randomBytes(100), randomBytes(200), randomBytes(300)]);
    await store.delete(hashes[0]!);
    await store.delete(hashes[1]!);
    assert.equal(packs(vol).length, 1, 'one block still in it');
    assert.equal(store.has(hashes[0]!), false);
    assert.equal((await store.get(hashes[2]!)).length, 300);
    await store.delete(hashes[2]!);
    await new Promise((r) => setTimeout(r, 50)); // The pack's unlink is not awaited by the delete.
    assert.deepEqual(packs(vol), []);
    assert.equal(store.stats().blocks, 0);
    store.close();
  });

  it('after a restart: packed blocks read back verified; the scrub deletes a pack no row names and drops rows past the end of a short one', async () => {
    const vol = fresh('vol');
    const data = fresh('data');
    let store = new BlockStore(data, [{ path: vol }]);
    const blocks = [randomBytes(1000), randomBytes(2000), randomBytes(3000)];
    const hashes = await ingest(store, blocks);
    // Keep them referenced, as a content's blocks, so the scrub does not delete them as unreferenced.
    store.index.putContent({ id: 'c', name: 'c', manifest: JSON.stringify({ blocks: hashes.map((hash) => ({ hash })) }), created_at: '2026-01-01' });
    store.close();
    const pack = path.join(vol, 'packs', packs(vol)[0]!);
    truncateSync(pack, 1000 + 2000 + 10); // the third block is cut
    writeFileSync(path.join(vol, 'packs', 'f'.repeat(24)), randomBytes(500)); // a pack renamed before a crash, never indexed
    store = new BlockStore(data, [{ path: vol }]);
    assert.equal(store.lastScrub!.dropped, 1, 'the row past the short pack');
    assert.equal(store.lastScrub!.tempFiles, 1, 'the unnamed pack');
    assert.deepEqual(packs(vol), [path.basename(pack)]);
    assert.ok((await store.get(hashes[0]!)).equals(blocks[0]!));
    assert.ok((await store.get(hashes[1]!)).equals(blocks[1]!));
    assert.equal(store.has(hashes[2]!), false);
    store.close();
  });

  it('a pack that cannot be written fails the commit and leaves nothing behind', async () => {
    const dir = fresh('vol');
    const volume = Volume.open({ path: dir }, undefined, 'v0', false);
    const b = randomBytes(1000);
    const staged = await volume.stage(sha(b), b, true);
    rmSync(path.join(dir, 'tmp'), { recursive: true });
    await assert.rejects(volume.commit([staged]), { code: 'ENOENT' });
    assert.deepEqual(packs(dir), []);
    assert.equal(existsSync(path.join(dir, 'tmp')), false);
  });

  it('keeps every staged block\'s bytes in the arena until it is released, and reuses released space', () => {
    const arena = new PackArena();
    const live: { bytes: Buffer; expected: Buffer; release: () => void }[] = [];
    const slabs = new Set<ArrayBufferLike>();
    for (let i = 0; i < 600; i++) {
      const expected = randomBytes(1 + ((i * 7919) % SMALL_BLOCK_BYTES));
      // Half the blocks arrive as pieces (a block received over the wire).
      const data = i % 2 === 0 ? expected : [expected.subarray(0, expected.length >> 1), expected.subarray(expected.length >> 1)];
      const { bytes, release } = arena.copy(data);
      slabs.add(bytes.buffer);
      live.push({ bytes, expected, release });
      // Release some, out of order, some twice: what is still live must keep its bytes.
      if (i % 3 === 0) {
        const [gone] = live.splice((i * 31) % live.length, 1);
        gone!.release();
        gone!.release();
      }
      if (i % 25 === 24) for (const b of live) assert.ok(b.bytes.equals(b.expected), `block ${i}: a live block was overwritten`);
    }
    for (const b of live) b.release();
    // All released: the arena's slabs serve again, and blocks released as they go (batch after batch) keep to one slab.
    const reused = new Set<ArrayBufferLike>();
    for (let i = 0; i < 200; i++) {
      const { bytes, release } = arena.copy(randomBytes(SMALL_BLOCK_BYTES));
      reused.add(bytes.buffer);
      release();
    }
    assert.equal(reused.size, 1, 'released space is reused');
    assert.ok(slabs.has([...reused][0]!), 'a slab of before is reused');
  });
});
