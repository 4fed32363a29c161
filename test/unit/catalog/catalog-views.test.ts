/** Bounded views of the catalog (issue 25): live contents, paged history, shared blocks counted once, pruning. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { contentIdOf, type Manifest } from '../../../src/core/manifest.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { historyPage, liveContents, liveHoldings, withdrawnHeld } from '../../../src/catalog/catalog-views.js';
import { historyHorizon, pruneHistory } from '../../../src/catalog/history-retention.js';
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
    // v1 and y.bin are out of service; every block they have is one a live version uses too.
    assert.deepEqual(withdrawnHeld(catalog, () => true, now), []);
  });

  it('prunes records past the count or the time, withdrawals past the time only', () => {
    // Past the count, within the time: the record goes, the withdrawal stays (the root still sends it).
    assert.deepEqual(pruneHistory(catalog, now, { ms: 7 * 86_400_000, count: 1 }), { records: [v1], withdrawals: [] });
    assert.equal(catalog.get(v1), undefined);
    assert.equal(catalog.state(v1, now), 'withdrawn');
    assert.ok(catalog.get(other));
    // Past the time: the record and its withdrawal go in one run; v1's withdrawal (2 days old) too.
    assert.deepEqual(pruneHistory(catalog, now + 86_400_000, { ms: 86_400_000, count: 10 }), { records: [other], withdrawals: [v1, other] });
    assert.equal(historyPage(catalog, 10, null, now).total, 0);
    assert.equal(catalog.withdrawal(other), undefined);
    assert.equal(catalog.isLive(other, now), false, 'a content with no record left is not live');
    assert.deepEqual(store.index.allWithdrawals(), [], 'index.db forgot them');
    // Live contents are never pruned, however old.
    assert.deepEqual(pruneHistory(catalog, now + 100 * 86_400_000, { ms: 1, count: 0 }), { records: [], withdrawals: [] });
    assert.deepEqual(liveContents(catalog, now).map((c) => c.contentId).sort(), [v2, v3].sort());
  });

  it('prunes a withdrawal of a content never known here once it is past the time', () => {
    const unknown = 'a'.repeat(64);
    catalog.withdraw(unknown, '2026-11-06T12:00:00.000Z', 'bad');
    assert.deepEqual(pruneHistory(catalog, now, { ms: 86_400_000, count: 10 }).withdrawals, []);
    assert.deepEqual(pruneHistory(catalog, now + 86_400_000, { ms: 86_400_000, count: 10 }).withdrawals, [unknown]);
    assert.equal(catalog.withdrawal(unknown), undefined);
  });

  it('refuses to forget the withdrawal of a content whose record is still kept', () => {
    const kept = add(100, 'z.bin', '2026-11-04T00:00:00.000Z');
    catalog.withdraw(kept, '2026-11-06T00:00:00.000Z', 'bad');
    assert.throws(() => catalog.forgetWithdrawal(kept), /still has its record/);
    assert.equal(catalog.state(kept, now), 'withdrawn');
  });

  it('gives the horizon of a sync: the retention before now', () => {
    assert.equal(historyHorizon(now, 86_400_000), '2026-11-06T00:00:00.000Z');
  });
});
