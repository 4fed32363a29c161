/** A node's catalog is where announced manifests enter: anything whose id, hashes or signature fail is refused. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { contentIdOf, type Manifest } from '../../../src/core/manifest.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { ingestFile } from '../../../src/ingest/ingest-file.js';
import type { BlockSink } from '../../../src/ingest/pipeline.js';
import { storeSink } from '../../../src/ingest/sinks.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { tempDir } from '../../helpers/cli.js';
import { makeManifest, testKey } from '../../helpers/manifests.js';

describe('catalog', () => {
  const dir = tempDir('canopy-i10-cat-');
  const store = new BlockStore(`${dir.path}/d`, [{ path: `${dir.path}/v` }]);
  after(() => {
    store.close();
    dir.remove();
  });
  const m = makeManifest({ size: 300, blockSize: 100, tracks: [{ offset: 0, length: 200 }], holes: [{ offset: 200, length: 100 }] });

  it('records a manifest that verifies and refuses forged ones', () => {
    const catalog = new Catalog(store);
    const forged = { ...m, criteria: '*' };
    assert.throws(() => catalog.add(contentIdOf(forged), forged), /signature does not verify/);
    assert.throws(() => catalog.add(contentIdOf(m), { ...m, blocks: m.blocks.map((b, i) => (i === 0 ? { ...b, hash: '0'.repeat(64) } : b)) }), /ERR_MANIFEST_INVALID|merkleRoot|content id/);
    assert.throws(() => catalog.add('f'.repeat(64), m), /content id does not match/);
    assert.equal(catalog.add(contentIdOf(m), JSON.parse(JSON.stringify(m))), true);
    assert.equal(catalog.holding(contentIdOf(m)).totalBlocks, 2);
  });
});

describe('catalog holding', () => {
  const dir = tempDir('canopy-i15-held-');
  const store = new BlockStore(`${dir.path}/d`, [{ path: `${dir.path}/v0` }, { path: `${dir.path}/v1` }]);
  after(() => {
    store.close();
    dir.remove();
  });
  let n = 0;
  const ingest = async (data: Buffer, sink: BlockSink) => {
    const file = `${dir.path}/in-${n++}`;
    writeFileSync(file, data);
    return ingestFile(file, sink, { name: `c${n}.bin`, criteria: '*', origin: 'n1', key: testKey, blockSize: 4096, chunking: 'fixed', hashThreads: 0 });
  };
  // What holding() said before it asked the index once per content: `has` for every block of the manifest.
  const byHas = (m: Manifest) => {
    const held = m.blocks.filter((b) => store.has(b.hash));
    return { haveBlocks: held.length, haveBytes: held.reduce((a, b) => a + b.length, 0) };
  };

  it('counts every block of the manifest the store holds: repeated blocks, blocks another content brought, none on a failed volume', async () => {
    const catalog = new Catalog(store);
    const counts = (id: string) => {
      const { haveBlocks, haveBytes } = catalog.holding(id);
      return { haveBlocks, haveBytes };
    };
    const shared = randomBytes(3 * 4096);
    // Three equal blocks (one hash, three places in the manifest; zeros would be a hole), then three of their own.
    const a = await ingest(Buffer.concat([Buffer.alloc(3 * 4096, 7), shared]), storeSink(store));
    catalog.add(a.contentId, a.manifest);
    assert.equal(new Set(a.manifest.blocks.map((b) => b.hash)).size, 4);
    assert.deepEqual(catalog.holding(a.contentId), { haveBlocks: 6, haveBytes: 6 * 4096, totalBlocks: 6, size: 6 * 4096, complete: true });
    // A content never fetched here whose first three blocks are a's last three.
    const discard: BlockSink = { put: async () => undefined };
    const b = await ingest(Buffer.concat([shared, randomBytes(2 * 4096 - 100)]), discard);
    catalog.add(b.contentId, b.manifest);
    assert.deepEqual(catalog.holding(b.contentId), { haveBlocks: 3, haveBytes: 3 * 4096, totalBlocks: 5, size: 5 * 4096 - 100, complete: false });
    for (const c of [a, b]) assert.deepEqual(counts(c.contentId), byHas(c.manifest));

    store.failVolume(store.volumeById(store.stats().volumes[0]!.id)!, 'test');
    const after = catalog.holding(a.contentId);
    assert.ok(after.haveBlocks < 6 && !after.complete, 'the failed volume held some of the blocks');
    for (const c of [a, b]) assert.deepEqual(counts(c.contentId), byHas(c.manifest));
  });
});
