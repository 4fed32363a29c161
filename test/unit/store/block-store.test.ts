import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { BlockStore } from '../../../src/store/block-store.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'canopy-store-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function blockFile(volume: string, hash: string): string {
  return path.join(volume, 'blocks', hash.slice(0, 2), hash);
}

describe('block store', () => {
  it('stores, finds and reads back blocks spread over volumes', async () => {
    const dir = tempDir();
    const volumes = [0, 1, 2].map((i) => ({ path: path.join(dir, `v${i}`) }));
    const store = new BlockStore(dir, volumes);
    const blocks = Array.from({ length: 60 }, () => randomBytes(1000));
    const hashes = await Promise.all(blocks.map((b) => store.put(b)));
    for (const [i, h] of hashes.entries()) assert.deepEqual(await store.get(h), blocks[i]);
    const stats = store.stats();
    assert.equal(stats.blocks, 60);
    assert.ok(stats.volumes.every((v) => v.blocks > 5), JSON.stringify(stats.volumes));
    store.close();
  });

  it('refuses bytes that do not match the expected hash, writing nothing', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    await assert.rejects(store.put(Buffer.from('evil'), sha256Hex('good')), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_BLOCK_HASH_MISMATCH');
    assert.equal(store.stats().blocks, 0);
    assert.deepEqual(readdirSync(path.join(dir, 'v0', 'blocks')), []);
    store.close();
  });

  it('never serves a block whose bytes rotted on disk', async () => {
    const dir = tempDir();
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    const hash = await store.put(Buffer.from('hello block'));
    writeFileSync(blockFile(path.join(dir, 'v0'), hash), 'hellO block');
    await assert.rejects(store.get(hash), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_BLOCK_NOT_FOUND');
    assert.equal(store.has(hash), false);
    store.close();
  });

  it('reconciles index and disk at start-up after a crash', async () => {
    const dir = tempDir();
    const v0 = path.join(dir, 'v0');
    let store = new BlockStore(dir, [{ path: v0 }]);
    const kept = await store.put(Buffer.from('kept'));
    const lost = await store.put(Buffer.from('lost'));
    store.close();
    rmSync(blockFile(v0, lost));
    writeFileSync(path.join(v0, 'tmp', 'half-written'), 'partial');
    const orphan = Buffer.from('orphan');
    const orphanHash = sha256Hex(orphan);
    mkdirSync(path.dirname(blockFile(v0, orphanHash)), { recursive: true });
    writeFileSync(blockFile(v0, orphanHash), orphan);
    store = new BlockStore(dir, [{ path: v0 }]);
    assert.equal(store.has(kept), true);
    assert.equal(store.has(lost), false);
    assert.equal(store.has(orphanHash), true);
    assert.deepEqual(readdirSync(path.join(v0, 'tmp')), []);
    store.close();
  });
});
