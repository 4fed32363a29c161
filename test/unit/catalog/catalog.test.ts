/** A node's catalog is where announced manifests enter: anything whose id, hashes or signature fail is refused. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { contentIdOf } from '../../../src/core/manifest.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { tempDir } from '../../helpers/cli.js';
import { makeManifest } from '../../helpers/manifests.js';

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
