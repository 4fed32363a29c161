/**
 * Block reads for sockets (store/block-reads.ts) and the read-handle cache
 * (store/read-handles.ts): pieces come whole and in order and each gives its buffer back once;
 * only a block trusted on this read is given in pieces; a file cut short is dropped as corrupt;
 * the cache is bounded, reuses handles, and closes a handle when its block is removed, its
 * volume fails, or it sits unused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { blockPool } from '../../../src/core/block-pool.js';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { readPieces, type ReadPiece } from '../../../src/store/block-reads.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { readHandles, ReadHandles } from '../../../src/store/read-handles.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('canopy-reads-');

const KIB = 1024;
const isCode = (code: string) => (e: unknown) => e instanceof CanopyError && e.code === code;

async function drain(pieces: AsyncIterable<ReadPiece>): Promise<Buffer> {
  const got: Buffer[] = [];
  for await (const p of pieces) {
    got.push(Buffer.from(p.bytes));
    p.flushed();
    p.flushed(); // A second call is ignored.
  }
  return Buffer.concat(got);
}

function storeWith(dir: string): BlockStore {
  return new BlockStore(dir, [{ path: path.join(dir, 'v0') }], { verifyReads: 'found' });
}

describe('block reads in pieces', () => {
  it('gives a block in order, in pieces of the size asked, each buffer back to the pool', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'b');
    const data = randomBytes(2 * 1024 * KIB + 5);
    writeFileSync(file, data);
    const handles = new ReadHandles();
    const before = blockPool.stats().leased;
    const sizes: number[] = [];
    const got: Buffer[] = [];
    for await (const p of readPieces(handles, file, data.length, 256 * KIB, (n) => blockPool.take(n), 1024 * KIB)) {
      sizes.push(p.bytes.length);
      got.push(Buffer.from(p.bytes));
      p.flushed();
    }
    assert.deepEqual(Buffer.concat(got), data);
    assert.deepEqual(sizes, [...Array(8).fill(256 * KIB), 5]);
    assert.equal(blockPool.stats().leased, before);
    handles.clear();
  });

  it('a reader that stops early gives back what it was not handed; what it was handed is its own', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'b');
    writeFileSync(file, randomBytes(2048 * KIB));
    const handles = new ReadHandles();
    const before = blockPool.stats().leased;
    const held: ReadPiece[] = [];
    for await (const p of readPieces(handles, file, 2048 * KIB, 256 * KIB, (n) => blockPool.take(n), 1024 * KIB)) {
      held.push(p);
      if (held.length === 2) break;
    }
    assert.equal(blockPool.stats().leased, before + 2, 'each piece held keeps its own buffer; the two of its chunk not handed out went back');
    held.forEach((p) => p.flushed());
    assert.equal(blockPool.stats().leased, before);
    handles.clear();
  });

  it('the store gives a block in pieces only once it is trusted on this run', async () => {
    const dir = tempDir();
    const data = randomBytes(600 * KIB);
    let store = storeWith(dir);
    const hash = sha256Hex(data);
    // Held by a content, so the next start's scrub keeps it.
    store.index.putContent({ id: 'c', name: 'c', manifest: JSON.stringify({ placement: 'full', blocks: [{ hash }] }), created_at: new Date().toISOString() });
    await store.put(data);
    assert.deepEqual(await drain(store.pieces(hash, 64 * KIB)!), data, 'written by this run: trusted');
    store.close();
    store = storeWith(dir);
    assert.equal(store.pieces(hash, 64 * KIB), undefined, 'found on disk: hashed first');
    await store.getLease(hash).then((l) => l.release());
    assert.deepEqual(await drain(store.pieces(hash, 64 * KIB)!), data);
    store.close();
  });

  it('a block file cut short is dropped as corrupt', async () => {
    const dir = tempDir();
    const store = storeWith(dir);
    const hash = await store.put(randomBytes(1536 * KIB));
    truncateSync(path.join(dir, 'v0', 'blocks', hash.slice(0, 2), hash), 1100 * KIB);
    await assert.rejects(drain(store.pieces(hash, 256 * KIB)!), isCode('ERR_BLOCK_NOT_FOUND'));
    assert.equal(store.has(hash), false);
    assert.equal(store.stats().corruptBlocks, 1);
    store.close();
  });
});

describe('read handles', () => {
  it('reuses an open handle, keeps at most `max`, and closes the least recently used', async () => {
    const dir = tempDir();
    const files = [0, 1, 2].map((i) => path.join(dir, `f${i}`));
    files.forEach((f) => writeFileSync(f, 'x'));
    const handles = new ReadHandles(2);
    const first = await handles.acquire(files[0]!);
    first.done();
    const again = await handles.acquire(files[0]!);
    assert.equal(again.fh, first.fh);
    again.done();
    for (const f of files.slice(1)) (await handles.acquire(f)).done();
    await sleep(20);
    assert.deepEqual(handles.stats(), { open: 2, opened: 3, reused: 1, closed: 1 });
    assert.equal(first.fh.fd, -1, 'the least recently used handle was closed');
    handles.clear();
  });

  it('closes the handle of a removed block, after the read in progress', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'f');
    writeFileSync(file, 'abc');
    const handles = new ReadHandles();
    const held = await handles.acquire(file);
    handles.drop(file);
    assert.equal(handles.stats().open, 0);
    const b = Buffer.alloc(3);
    await held.fh.read(b, 0, 3, 0);
    assert.equal(b.toString(), 'abc', 'a read in progress finishes');
    held.done();
    await sleep(20);
    assert.equal(held.fh.fd, -1);
  });

  it('closes handles unused for the idle time, and every handle under a failed volume', async () => {
    const dir = tempDir();
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'sub', 'b');
    rmSync(path.dirname(b), { recursive: true, force: true });
    writeFileSync(a, 'a');
    const handles = new ReadHandles(8, 30);
    const ha = await handles.acquire(a);
    ha.done();
    await sleep(150);
    assert.equal(handles.stats().open, 0);
    assert.equal(ha.fh.fd, -1);
    const again = await handles.acquire(a);
    handles.dropUnder(dir);
    assert.equal(handles.stats().open, 0);
    again.done();
    await assert.rejects(handles.acquire(path.join(dir, 'missing')));
    assert.equal(handles.stats().open, 0, 'a file that cannot be opened is not kept');
  });

  it("the store's volume failure and block removal close its handles", async () => {
    const dir = tempDir();
    const store = storeWith(dir);
    const hashes = [await store.put(randomBytes(300 * KIB)), await store.put(randomBytes(300 * KIB))];
    const volumeDir = path.join(dir, 'v0') + path.sep;
    const openHere = () => [...(readHandles as unknown as { entries: Map<string, unknown> }).entries.keys()].filter((f) => f.startsWith(volumeDir)).length;
    for (const h of hashes) await store.getLease(h).then((l) => l.release());
    assert.equal(openHere(), 2);
    await store.delete(hashes[0]!);
    assert.equal(openHere(), 1, 'a removed block frees its space');
    store.failVolume(store.volumeById(store.stats().volumes[0]!.id)!, 'test');
    assert.equal(openHere(), 0, 'a failed volume is not held open');
    store.close();
  });
});
