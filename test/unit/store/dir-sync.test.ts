import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DirSyncs } from '../../../src/store/dir-sync.js';
import { fsyncDir, Volume } from '../../../src/store/volume.js';

const root = mkdtempSync(path.join(tmpdir(), 'canopy-dir-sync-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The real directory sync, recording which directories it synced. */
function recording(): { synced: string[]; sync: (dir: string) => Promise<void> } {
  const synced: string[] = [];
  return { synced, sync: async (dir) => (synced.push(dir), fsyncDir(dir)) };
}

function dirs(...names: string[]): string[] {
  return names.map((n) => {
    const d = path.join(root, n);
    mkdirSync(d, { recursive: true });
    return d;
  });
}

describe('directory syncs put off until a writer flushes', () => {
  const volume = Volume.open({ path: path.join(root, 'vol') }, undefined, 'v0', false);

  it('syncs each directory once however many batches renamed blocks into it, and nothing before', async () => {
    const r = recording();
    const syncs = new DirSyncs(r.sync);
    const [a, b, c] = dirs('a', 'b', 'c');
    syncs.add(volume, [a!, b!], ['h1', 'h2']);
    syncs.add(volume, [b!, c!], ['h3']);
    assert.deepEqual(r.synced, []);
    await syncs.syncAll();
    assert.deepEqual([...r.synced].sort(), [a, b, c].sort());
    await syncs.durable('h1');
    await syncs.syncAll();
    assert.equal(r.synced.length, 3, 'nothing left to sync');
  });

  it('syncs at once the directories of a block someone needs durable before the flush', async () => {
    const r = recording();
    const syncs = new DirSyncs(r.sync);
    const [d] = dirs('d');
    syncs.add(volume, [d!], ['h4']);
    await syncs.durable('h4');
    assert.deepEqual(r.synced, [d]);
    await syncs.durable('h4');
    await syncs.durable('never-put-off');
    assert.deepEqual(r.synced, [d], 'a block already durable costs no sync');
  });

  it('fails with ERR_STORE_IO when a directory cannot be synced, and tries it again next time', async () => {
    const r = recording();
    const syncs = new DirSyncs(r.sync);
    const gone = path.join(root, 'gone');
    syncs.add(volume, [gone], ['h5']);
    await assert.rejects(syncs.durable('h5'), { code: 'ERR_STORE_IO' });
    mkdirSync(gone);
    await syncs.syncAll();
    assert.deepEqual(r.synced, [gone, gone]);
  });
});
