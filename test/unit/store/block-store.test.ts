import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { alignedBuffers } from '../../../src/core/aligned-memory.js';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { BlockStore, type VolumeFailure } from '../../../src/store/block-store.js';
import { verifyReadsFromEnv } from '../../../src/store/read-verification.js';
import type { VolumeConfig } from '../../../src/store/volume-spec.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('canopy-store-');

function blockFile(volume: string, hash: string): string {
  return path.join(volume, 'blocks', hash.slice(0, 2), hash);
}

const KIB = 1024;

function countBlockFiles(volume: string): number {
  return readdirSync(path.join(volume, 'blocks')).flatMap((s) => readdirSync(path.join(volume, 'blocks', s))).length;
}
const isCode = (code: string) => (e: unknown) => e instanceof CanopyError && e.code === code;

/** Records a content using `hashes` (the store only reads `blocks[].hash` and `placement`). */
function addContent(store: BlockStore, id: string, hashes: string[], pinned = false): void {
  store.index.putContent({ id, name: id, manifest: JSON.stringify({ placement: 'full', blocks: hashes.map((hash) => ({ hash })) }), created_at: new Date().toISOString() });
  store.pin(id, pinned);
}

async function putContent(store: BlockStore, id: string, blocks: Buffer[], pinned = false): Promise<string[]> {
  addContent(store, id, blocks.map((b) => sha256Hex(b)), pinned);
  const hashes: string[] = [];
  for (const [index, b] of blocks.entries()) hashes.push(await store.put(b, undefined, { stripe: id, index }));
  return hashes;
}

function volumes(dir: string, n: number, extra: Partial<VolumeConfig>[] = []): VolumeConfig[] {
  return Array.from({ length: n }, (_, i) => ({ path: path.join(dir, `v${i}`), ...extra[i] }));
}

describe('block store', () => {
  it('stores, finds and reads back blocks spread over volumes', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 3));
    const blocks = Array.from({ length: 60 }, () => randomBytes(1000));
    const hashes = await Promise.all(blocks.map((b) => store.put(b)));
    for (const [i, h] of hashes.entries()) assert.deepEqual(await store.get(h), blocks[i]);
    const stats = store.stats();
    assert.equal(stats.blocks, 60);
    assert.ok(stats.volumes.every((v) => v.blocks > 5), JSON.stringify(stats.volumes));
    store.close();
  });

  it('stripes a content: consecutive blocks on different volumes, bytes balanced by weight', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 3, [{ weight: 2 }, {}, {}]));
    const blocks = Array.from({ length: 120 }, () => randomBytes(4 * KIB));
    const hashes = await putContent(store, 'c1', blocks);
    const where = hashes.map((h) => store.index.getBlock(h)!.volume);
    for (let i = 1; i < where.length; i++) assert.notEqual(where[i], where[i - 1], `blocks ${i - 1} and ${i} share a volume`);
    const [heavy, a, b] = store.stats().volumes;
    assert.deepEqual([heavy!.blocks, a!.blocks, b!.blocks], [60, 30, 30]);
    assert.equal(store.stats().balance, 1);
    store.close();
  });

  it('keeps a volume within its capacity and places the rest on the others', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 2, [{ capacity: 10 * KIB }]));
    await putContent(store, 'c1', Array.from({ length: 12 }, () => randomBytes(2 * KIB)));
    const [small, big] = store.stats().volumes;
    assert.ok(small!.bytes <= 10 * KIB, `small volume holds ${small!.bytes}`);
    assert.equal(small!.blocks + big!.blocks, 12);
    store.close();
  });

  it('refuses bytes that do not match the expected hash, writing nothing', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    await assert.rejects(store.put(Buffer.from('evil'), sha256Hex('good')), isCode('ERR_BLOCK_HASH_MISMATCH'));
    assert.equal(store.stats().blocks, 0);
    assert.equal(countBlockFiles(path.join(dir, 'v0')), 0);
    store.close();
  });

  it('stores a block given as the pieces it arrived in, with O_DIRECT and buffered writes, and refuses pieces that hash wrong', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 2));
    // Odd piece sizes, more than one O_DIRECT staging chunk (1 MiB), an unaligned tail.
    const whole = randomBytes(2 * 1024 * KIB + 4321);
    const cuts = [0, 7, 16 * KIB, 1024 * KIB - 1, 1024 * KIB + 5, 2 * 1024 * KIB, whole.length];
    const pieces = cuts.slice(1).map((end, i) => whole.subarray(cuts[i], end));
    const second = randomBytes(300 * KIB + 1);
    for (const v of store.stats().volumes) store.volumeById(v.id)!.directWrites = false;
    const viaBuffered = await store.put([second.subarray(0, 1), second.subarray(1)], sha256Hex(second));
    for (const v of store.stats().volumes) store.volumeById(v.id)!.directWrites = true;
    assert.equal(await store.put(pieces, sha256Hex(whole), { stripe: 'c', index: 0 }), sha256Hex(whole));
    await assert.rejects(store.put([...pieces].reverse(), sha256Hex(whole)), isCode('ERR_BLOCK_HASH_MISMATCH'));
    assert.deepEqual(await store.get(sha256Hex(whole)), whole);
    assert.deepEqual(await store.get(viaBuffered), second);
    assert.equal(store.stats().blocks, 2);
    store.close();
  });

  it('writes blocks that lie in page-aligned memory (the ingest\'s buffers) whole, whatever their length', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 1));
    const [exact, odd, small] = alignedBuffers(1024 * KIB + 4096, 3, true);
    for (const b of [exact!, odd!, small!]) randomBytes(b.length).copy(b);
    const blocks = [exact!.subarray(0, 1024 * KIB), odd!.subarray(0, 1024 * KIB + 1000), small!.subarray(0, 100)];
    const hashes = await Promise.all(blocks.map((b) => store.put(b)));
    for (const [i, h] of hashes.entries()) assert.deepEqual(await store.get(h), Buffer.from(blocks[i]!));
    store.close();
  });

  it('never serves a block that rotted on disk while the node was down, though it trusts the blocks this run wrote', async () => {
    const dir = tempDir();
    const v0 = path.join(dir, 'v0');
    let store = new BlockStore(dir, [{ path: v0 }]);
    // A content uses the blocks, so the start-up scrub keeps them for the read to judge.
    const [hash, mine] = await putContent(store, 'c', [Buffer.from('hello block'), Buffer.from('my own block')], true);
    store.close();
    writeFileSync(blockFile(v0, hash!), 'hellO block');
    store = new BlockStore(dir, [{ path: v0 }]);
    // Found at start: hashed on its first read, dropped and counted.
    await assert.rejects(store.get(hash!), isCode('ERR_BLOCK_NOT_FOUND'));
    assert.equal(store.has(hash!), false);
    assert.equal(store.stats().corruptBlocks, 1);
    // Written by this run: its hash came from the bytes written, so its first read trusts it (docs/STORE.md).
    const fresh = await store.put(Buffer.from('written this run'));
    writeFileSync(blockFile(v0, fresh), 'Written this run');
    assert.equal((await store.get(fresh)).toString(), 'Written this run');
    // ... until the next start, and at once with verifyReads first (the earlier rule).
    store.close();
    store = new BlockStore(dir, [{ path: v0 }], { verifyReads: 'first' });
    const checked = await store.put(Buffer.from('checked on first read'));
    writeFileSync(blockFile(v0, checked), 'Checked on first read');
    await assert.rejects(store.get(checked), isCode('ERR_BLOCK_NOT_FOUND'));
    assert.equal((await store.get(mine!)).toString(), 'my own block');
    store.close();
    assert.equal(verifyReadsFromEnv(undefined), 'found');
    assert.equal(verifyReadsFromEnv('every'), 'every');
    assert.throws(() => verifyReadsFromEnv('sometimes'), isCode('ERR_CONFIG_INVALID'));
  });

  it('hashes a block on its first read in each run: rot after that read is caught at the next start, or at once with verifyReads every', async () => {
    const dir = tempDir();
    const v0 = path.join(dir, 'v0');
    let store = new BlockStore(dir, [{ path: v0 }]);
    // A content uses the blocks, so the start-up scrub keeps them for the read to judge.
    const [hash, again, third] = await putContent(store, 'c', ['hello block', 'second block', 'third block'].map((t) => Buffer.from(t)), true);
    assert.equal((await store.get(hash!)).toString(), 'hello block');
    writeFileSync(blockFile(v0, hash!), 'hellO block');
    // Same run: this run wrote it (and read it once), so this read trusts it (the documented rule).
    assert.equal((await store.get(hash!)).toString(), 'hellO block');
    await store.get(again!);
    writeFileSync(blockFile(v0, again!), 'Second block');
    store.close();
    store = new BlockStore(dir, [{ path: v0 }]);
    await assert.rejects(store.get(hash!), isCode('ERR_BLOCK_NOT_FOUND'));
    assert.equal(store.stats().corruptBlocks, 1);
    store.close();
    // verifyReads every: rot after a verified read is caught on the next read of the same run.
    store = new BlockStore(dir, [{ path: v0 }], { verifyReads: 'every' });
    await assert.rejects(store.get(again!), isCode('ERR_BLOCK_NOT_FOUND'));
    await store.get(third!);
    writeFileSync(blockFile(v0, third!), 'Third block');
    await assert.rejects(store.get(third!), isCode('ERR_BLOCK_NOT_FOUND'));
    assert.equal(store.stats().corruptBlocks, 2);
    store.close();
  });

  it('commits concurrent writes to a volume in batches, each block durable and indexed when its put resolves', async () => {
    const dir = tempDir();
    const v0 = path.join(dir, 'v0');
    const store = new BlockStore(dir, [{ path: v0 }]);
    const blocks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(5000 + i, i));
    const hashes = await Promise.all(blocks.map((b, i) => store.put(b, undefined, { stripe: 'c', index: i })));
    const { batches, blocks: committed } = store.commitStats();
    assert.equal(committed, 40);
    assert.ok(batches < 40, `40 concurrent writes took ${batches} batches`);
    for (const [i, h] of hashes.entries()) {
      assert.equal(readFileSync(blockFile(v0, h)).equals(blocks[i]!), true);
      assert.equal((await store.get(h)).equals(blocks[i]!), true);
    }
    assert.equal(readdirSync(path.join(v0, 'tmp')).length, 0);
    store.close();
  });

  it('reconciles index and disk at start-up after a crash', async () => {
    const dir = tempDir();
    const v0 = path.join(dir, 'v0');
    let store = new BlockStore(dir, [{ path: v0 }]);
    const kept = await store.put(Buffer.from('kept'));
    const lost = await store.put(Buffer.from('lost'));
    const garbage = await store.put(Buffer.from('from an ingest that never finished'));
    const orphan = Buffer.from('orphan');
    const orphanHash = sha256Hex(orphan);
    const rotten = sha256Hex('rotten');
    addContent(store, 'c1', [kept, lost, orphanHash, rotten]);
    store.close();
    rmSync(blockFile(v0, lost));
    writeFileSync(path.join(v0, 'tmp', 'half-written'), 'partial');
    for (const [hash, bytes] of [[orphanHash, orphan], [rotten, Buffer.from('not rotten')]] as const) {
      mkdirSync(path.dirname(blockFile(v0, hash)), { recursive: true });
      writeFileSync(blockFile(v0, hash), bytes);
    }
    store = new BlockStore(dir, [{ path: v0 }]);
    assert.equal(store.has(kept), true);
    assert.equal(store.has(lost), false);
    assert.equal(store.has(orphanHash), true, 'a complete unindexed block is indexed again');
    assert.equal(store.has(rotten), false, 'a file whose bytes do not match its name is not');
    assert.equal(existsSync(blockFile(v0, rotten)), false);
    assert.equal(store.has(garbage), false, 'blocks no content uses are removed');
    assert.equal(existsSync(blockFile(v0, garbage)), false);
    assert.deepEqual(readdirSync(path.join(v0, 'tmp')), []);
    assert.deepEqual(store.lastScrub, { tempFiles: 1, reindexed: 1, recovered: 0, corrupt: 1, duplicates: 0, dropped: 1, lost: 0, unreferenced: 1 });
    store.close();
  });

  it('marks a volume that disappears failed, loses only its blocks, and writes on elsewhere', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 3));
    const failures: VolumeFailure[] = [];
    store.on('volume:failed', (f) => failures.push(f));
    const hashes = await putContent(store, 'c1', Array.from({ length: 30 }, () => randomBytes(KIB)), true);
    rmSync(path.join(dir, 'v1'), { recursive: true, force: true });
    store.probeVolumes();
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.path, path.join(dir, 'v1'));
    assert.equal(failures[0]!.lostBlocks, 10);
    assert.equal(hashes.filter((h) => store.has(h)).length, 20);
    const stats = store.stats();
    assert.deepEqual(stats.failedVolumes, [path.join(dir, 'v1')]);
    assert.equal(stats.lostBlocks, 10);
    const more = await putContent(store, 'c2', Array.from({ length: 10 }, () => randomBytes(KIB)));
    for (const h of more) assert.notEqual(store.index.getBlock(h)!.volume, failures[0]!.id);
    store.close();
  });

  it('detects a lost volume on read as well, and never throws anything but not-found', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 2));
    const hashes = await putContent(store, 'c1', Array.from({ length: 4 }, () => randomBytes(KIB)), true);
    rmSync(path.join(dir, 'v0'), { recursive: true, force: true });
    const results = await Promise.allSettled(hashes.map((h) => store.get(h)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    for (const r of results) if (r.status === 'rejected') assert.ok(isCode('ERR_BLOCK_NOT_FOUND')(r.reason));
    assert.equal(store.stats().failedVolumes.length, 1);
    store.close();
  });

  it('evicts unpinned contents least recently used first to stay under the quota', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 2), { quota: 40 * KIB });
    const block = () => randomBytes(4 * KIB);
    const shared = block();
    await putContent(store, 'pinned', [block(), block()], true);
    const old = await putContent(store, 'old', [block(), shared, block()]);
    const used = await putContent(store, 'used', [block(), block(), block()]);
    const keeper = await putContent(store, 'keeper', [block(), shared]);
    await new Promise((r) => setTimeout(r, 5));
    for (const h of [...used, keeper[0]!]) await store.get(h);
    store.close(); // flushes read times to the index
    const again = new BlockStore(dir, volumes(dir, 2), { quota: 40 * KIB });
    await putContent(again, 'new', [block(), block(), block()]);
    assert.equal(again.index.contentState('old')!.state, 'evicted');
    assert.equal(again.index.contentState('used')!.state, 'active');
    assert.equal(again.has(old[0]!), false);
    assert.equal(again.has(sha256Hex(shared)), true, 'a block another content uses stays');
    const stats = again.stats();
    assert.ok(stats.bytes <= 40 * KIB);
    assert.equal(stats.evictions, 1);
    assert.equal(stats.evictedBytes, 8 * KIB);
    again.close();
  });

  it('makes room once for several writes that need it at the same time', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 2), { quota: 32 * KIB });
    await putContent(store, 'old', Array.from({ length: 6 }, () => randomBytes(4 * KIB)));
    const blocks = Array.from({ length: 8 }, () => randomBytes(4 * KIB));
    addContent(store, 'new', blocks.map((b) => sha256Hex(b)), true);
    await Promise.all(blocks.map((b, index) => store.put(b, undefined, { stripe: 'new', index })));
    assert.equal(store.stats().evictions, 1);
    assert.equal(store.stats().bytes, 32 * KIB);
    store.close();
  });

  it('fails with ERR_STORE_FULL when only pinned content is left, and a failed ingest leaves nothing', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, volumes(dir, 1), { quota: 16 * KIB });
    await putContent(store, 'pinned', [randomBytes(8 * KIB)], true);
    const written: string[] = [];
    await assert.rejects(async () => {
      for (let i = 0; i < 4; i++) written.push(await store.put(randomBytes(4 * KIB), undefined, { stripe: 'ingest', index: i }));
    }, isCode('ERR_STORE_FULL'));
    assert.equal(written.length, 2);
    assert.equal(await store.discardUnreferenced(written), 2);
    assert.equal(store.stats().bytes, 8 * KIB);
    assert.equal(countBlockFiles(path.join(dir, 'v0')), 1);
    store.close();
  });

  it('names the error code of a failed volume once (issue 16: "ENOENT: ENOENT: ...")', async () => {
    const dir = tempDir();
    const vols = volumes(dir, 2);
    const store = new BlockStore(dir, vols);
    const hashes = await putContent(store, 'c1', Array.from({ length: 4 }, () => randomBytes(KIB)), true);
    rmSync(vols[1]!.path, { recursive: true });
    await Promise.allSettled(hashes.map((h) => store.get(h)));
    const reason = store.stats().volumes[1]!.reason;
    assert.match(reason, /^ENOENT: /);
    assert.doesNotMatch(reason, /ENOENT: ENOENT/);
    store.close();
  });

  it('does not mistake an unmounted disk (an empty mount point) for a new volume', async () => {
    const dir = tempDir();
    const vols = volumes(dir, 2);
    let store = new BlockStore(dir, vols);
    const hashes = await putContent(store, 'c1', Array.from({ length: 4 }, () => randomBytes(KIB)), true);
    store.close();
    rmSync(vols[1]!.path, { recursive: true });
    mkdirSync(vols[1]!.path); // The mount point, with nothing mounted on it.
    store = new BlockStore(dir, vols);
    const stats = store.stats();
    assert.deepEqual(stats.failedVolumes, [vols[1]!.path]);
    assert.match(stats.volumes[1]!.reason, /not mounted/);
    assert.deepEqual(readdirSync(vols[1]!.path), [], 'nothing is written onto the mount point');
    assert.equal(hashes.filter((h) => store.has(h)).length, 2);
    store.close();
    writeFileSync(path.join(vols[1]!.path, '.canopy-volume'), ''); // The operator says: a new disk.
    store = new BlockStore(dir, vols);
    assert.deepEqual(store.stats().failedVolumes, []);
    store.close();
  });

  it('keeps the blocks of a volume written by the walking skeleton (no marker, ids by position)', async () => {
    const dir = tempDir();
    const v0 = path.join(dir, 'v0');
    const data = Buffer.from('skeleton block');
    const hash = sha256Hex(data);
    mkdirSync(path.dirname(blockFile(v0, hash)), { recursive: true });
    writeFileSync(blockFile(v0, hash), data);
    const db = new Database(path.join(dir, 'index.db'));
    db.exec(`
      CREATE TABLE blocks (hash TEXT PRIMARY KEY, volume TEXT NOT NULL, length INTEGER NOT NULL, stored_at INTEGER NOT NULL, last_access INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE contents (id TEXT PRIMARY KEY, name TEXT NOT NULL, manifest TEXT NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO blocks VALUES ('${hash}', 'v0', ${data.length}, 1, 1);
      INSERT INTO contents VALUES ('c', 'c', '{"blocks":[{"hash":"${hash}"}]}', '2026-01-01');
    `);
    db.close();
    const again = new BlockStore(dir, [{ path: v0 }]);
    assert.equal(again.index.getBlock(hash)!.volume, 'v0');
    assert.deepEqual(await again.get(hash), data);
    again.close();
  });

  it('lets another process open the index read-only and read verified blocks while the writer runs', async () => {
    const dir = tempDir();
    const writer = new BlockStore(dir, volumes(dir, 3));
    const hashes = await putContent(writer, 'c1', Array.from({ length: 9 }, () => randomBytes(KIB)));
    const reader = BlockStore.openReadOnly(dir);
    for (const h of hashes) assert.equal(sha256Hex(await reader.get(h)), h);
    const later = await writer.put(randomBytes(KIB));
    assert.equal(reader.has(later), true, 'the reader sees rows committed after it opened');
    await assert.rejects(reader.put(randomBytes(10)), isCode('ERR_STORE_IO'));
    assert.equal(reader.stats().blocks, 10);
    reader.close();
    writer.close();
  });
});
