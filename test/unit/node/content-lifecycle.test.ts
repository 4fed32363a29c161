import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ingestFile } from '../../../src/ingest/ingest-file.js';
import { storeSink } from '../../../src/ingest/sinks.js';
import { testKey } from '../../helpers/manifests.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { ContentLifecycle } from '../../../src/node/content-lifecycle.js';
import { createLogger } from '../../../src/core/logger.js';
import { BlockStore } from '../../../src/store/block-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-9-lifecycle-'));
  dirs.push(dir);
  const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
  const catalog = new Catalog(store);
  const cancelled: string[] = [];
  const lifecycle = new ContentLifecycle({ catalog, store, cancelDownload: async (id) => void cancelled.push(id), log: createLogger({}, 'error') });
  let files = 0;
  const publish = async (data: Buffer, name: string, expires?: string) => {
    const file = path.join(dir, `input-${files++}`);
    writeFileSync(file, data);
    const { contentId, manifest } = await ingestFile(file, storeSink(store), { name, criteria: '*', origin: 'n1', key: testKey, blockSize: 4096, chunking: 'cdc', expires, hashThreads: 0 });
    catalog.add(contentId, manifest);
    return contentId;
  };
  return { dir, store, catalog, lifecycle, cancelled, publish };
}

describe('content lifecycle', () => {
  it('withdrawing a version frees only the blocks no live version uses; the name falls back', async () => {
    const { store, catalog, lifecycle, cancelled, publish } = setup();
    const v1data = randomBytes(200_000);
    const v1 = await publish(v1data, 'build.bin');
    await new Promise((r) => setTimeout(r, 5)); // distinct createdAt
    const v2 = await publish(Buffer.concat([v1data.subarray(0, 50_000), randomBytes(3000), v1data.subarray(50_000)]), 'build.bin');
    assert.deepEqual(catalog.versions('build.bin').map((v) => v.contentId), [v1, v2]);
    assert.equal(catalog.resolveLive('build.bin')?.contentId, v2);

    const freed = await lifecycle.withdraw(v2, new Date().toISOString(), 'bad build');
    assert.deepEqual(cancelled, [v2]);
    assert.equal(catalog.state(v2), 'withdrawn');
    assert.equal(catalog.resolveLive('build.bin')?.contentId, v1);
    assert.equal(catalog.resolveLive(v2), undefined);
    assert.equal(catalog.holding(v1).complete, true, 'blocks of the live version stay');
    const h2 = catalog.holding(v2);
    // The insertion plus the content-defined blocks around its two edges (each at most max = 16 KiB).
    assert.ok(freed > 3000 && freed <= 3000 + 3 * 16_384, `freed ${freed}`);
    assert.equal(h2.size - h2.haveBytes, freed);
    assert.equal(await lifecycle.withdraw(v2, new Date().toISOString(), 'again'), 0, 'a second withdrawal is a no-op');
    assert.equal(store.stats().bytes, v1data.length);
  });

  it('finishes freeing at start-up after a crash left a withdrawn content holding blocks', async () => {
    const { store, catalog, publish } = setup();
    const a = await publish(randomBytes(60_000), 'a.bin');
    catalog.withdraw(a, new Date().toISOString(), 'bad'); // withdrawn, but the process died before freeing
    assert.ok(catalog.holding(a).haveBlocks > 0);
    const lifecycle = new ContentLifecycle({ catalog, store, cancelDownload: async () => undefined, log: createLogger({}, 'error') });
    lifecycle.start();
    lifecycle.stop();
    await lifecycle.idle();
    assert.equal(catalog.holding(a).haveBlocks, 0);
  });

  it('persists withdrawals, and retires expired contents on the sweep', async () => {
    const { dir, store, catalog, lifecycle, publish } = setup();
    const a = await publish(randomBytes(50_000), 'a.bin', new Date(Date.now() + 60_000).toISOString());
    lifecycle.sweep();
    await lifecycle.idle();
    assert.equal(catalog.state(a), 'live');
    lifecycle.sweep(Date.now() + 61_000);
    assert.equal(catalog.state(a), 'expired');
    await lifecycle.idle();
    assert.equal(catalog.holding(a).haveBlocks, 0);
    // A withdrawal of a content never seen is remembered, so a later announcement of it is ignored.
    assert.equal(catalog.withdraw('f'.repeat(64), new Date().toISOString(), 'gone'), true);
    store.close();
    const reopened = new Catalog(new BlockStore(dir, [{ path: path.join(dir, 'v0') }]));
    assert.equal(reopened.state(a), 'expired');
    assert.equal(reopened.withdrawal('f'.repeat(64))?.reason, 'gone');
  });
});
