/** Bounded views of the catalog (issue 25): live contents, paged history, shared blocks counted once, pruning. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { contentIdOf, type Manifest } from '../../../src/core/manifest.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { historyPage, liveContents, liveHoldings } from '../../../src/catalog/catalog-views.js';
import { pruneHistory } from '../../../src/catalog/history-retention.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { tempDir } from '../../helpers/cli.js';
import { makeManifest } from '../../helpers/manifests.js';

describe('catalog views', () => {
  const dir = tempDir('canopy-views-');
  const store = new BlockStore(`${dir.path}/d`, [{ path: `${dir.path}/v` }]);
  after(() => {
    store.close();
    dir.remove();
  });
  const catalog = new Catalog(store);
  const add = (size: number, name: string, createdAt: string): string => {
    const m: Manifest = makeManifest({ size, blockSize: 100, tracks: [{ offset: 0, length: size }] }, undefined, { name, createdAt });
    catalog.add(contentIdOf(m), m);
    return contentIdOf(m);
  };
  const v1 = add(300, 'x.bin', '2026-11-01T00:00:00.000Z');
  const v2 = add(400, 'x.bin', '2026-11-02T00:00:00.000Z');
  const v3 = add(500, 'x.bin', '2026-11-03T00:00:00.000Z');
  const other = add(200, 'y.bin', '2026-11-04T00:00:00.000Z');
  catalog.withdraw(v1, '2026-11-05T00:00:00.000Z', 'old');
  catalog.withdraw(other, '2026-11-06T00:00:00.000Z', 'bad');
  const now = Date.parse('2026-11-07T00:00:00.000Z');

  it('lists live contents only, and history newest first in pages', () => {
    assert.deepEqual(liveContents(catalog, now).map((c) => c.contentId).sort(), [v2, v3].sort());
    const first = historyPage(catalog, 1, null, now);
    assert.deepEqual(first.entries.map((c) => c.contentId), [other]);
    assert.equal(first.total, 2);
    assert.ok(first.next);
    const second = historyPage(catalog, 1, first.next, now);
    assert.deepEqual(second.entries.map((c) => c.contentId), [v1]);
    assert.equal(second.next, null);
    assert.throws(() => historyPage(catalog, 1, 'bogus', now), /ERR_USAGE|not a cursor/);
  });

  it('counts a block shared by live versions once, and withdrawn ones not at all', () => {
    const held = liveHoldings(catalog, () => true, now);
    assert.deepEqual(held.map((h) => h.contentId), [v3, v2]);
    // v2's four blocks are v3's first four (same offsets, same hashes): they count under v3.
    assert.deepEqual(held.map((h) => h.haveBytes), [500, 0]);
  });

  it('prunes records past the retention but keeps the withdrawal', () => {
    assert.deepEqual(pruneHistory(catalog, now, { ms: 7 * 86_400_000, count: 1 }), [v1]);
    assert.equal(catalog.get(v1), undefined);
    assert.equal(catalog.state(v1, now), 'withdrawn');
    assert.ok(catalog.get(other));
    assert.deepEqual(pruneHistory(catalog, now + 86_400_000, { ms: 86_400_000, count: 10 }), [other]);
    assert.equal(historyPage(catalog, 10, null, now).total, 0);
  });
});
