import { testKey } from '../../helpers/manifests.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256Hex } from '../../../src/core/hash.js';
import { manifestFromDraft } from '../../../src/ingest/draft-manifest.js';
import { UploadFollower } from '../../../src/ingest/upload-follower.js';
import { BlockStore } from '../../../src/store/block-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const BS = 4096;

function setup(size: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-i8-follow-'));
  dirs.push(dir);
  const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }, { path: path.join(dir, 'v1') }]);
  const data = randomBytes(size);
  const blocks = [];
  for (let o = 0; o < size; o += BS) blocks.push(sha256Hex(data.subarray(o, Math.min(size, o + BS))));
  const sha = createHash('sha256').update(data).digest('hex');
  const { contentId, manifest } = manifestFromDraft({ name: 'f', criteria: '*', size, blockSize: BS, mediaType: 'application/octet-stream', blocks, sha256: sha }, 'o', testKey);
  const file = path.join(dir, 'upload');
  writeFileSync(file, '');
  return { store, data, sha, contentId, manifest, file };
}

describe('upload follower', () => {
  it('stores each block once it is whole on disk, and checks the whole file at the end', async () => {
    const t = setup(5 * BS + 100);
    const seen: number[] = [];
    const f = new UploadFollower(t.contentId, t.manifest, t.file, t.store, t.sha, { onBlock: (i) => seen.push(i) });
    appendFileSync(t.file, t.data.subarray(0, BS + 10));
    await f.poke();
    assert.equal(f.next, 1, 'only the whole first block');
    assert.ok(t.store.has(t.manifest.blocks[0]!.hash));
    assert.ok(!t.store.has(t.manifest.blocks[1]!.hash));
    appendFileSync(t.file, t.data.subarray(BS + 10, 4 * BS));
    await f.poke(3 * BS); // the server has acknowledged less than is on disk: take only that
    assert.equal(f.next, 3);
    await f.poke();
    assert.equal(f.next, 4);
    appendFileSync(t.file, t.data.subarray(4 * BS));
    await f.finish();
    assert.equal(f.done, true);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    assert.equal(f.verifiedBytes, t.data.length);
    for (const b of t.manifest.blocks) assert.ok(t.store.has(b.hash));
  });

  it('never stores a block whose bytes differ from the manifest, and fails at the end', async () => {
    const t = setup(3 * BS);
    const f = new UploadFollower(t.contentId, t.manifest, t.file, t.store, t.sha);
    const bad = Buffer.from(t.data);
    bad[BS + 5] = bad[BS + 5]! ^ 0xff;
    appendFileSync(t.file, bad);
    await f.poke();
    assert.equal(f.next, 1, 'stops before the damaged block');
    assert.ok(!t.store.has(t.manifest.blocks[1]!.hash));
    await assert.rejects(f.finish(), /hash/);
  });

  it('rejects a file whose blocks match but whose whole hash differs from the publisher’s', async () => {
    const t = setup(2 * BS);
    const f = new UploadFollower(t.contentId, t.manifest, t.file, t.store, sha256Hex('something else'));
    appendFileSync(t.file, t.data);
    await assert.rejects(f.finish(), /the publisher computed/);
  });

  it('rejects an upload that ends short', async () => {
    const t = setup(2 * BS);
    const f = new UploadFollower(t.contentId, t.manifest, t.file, t.store, t.sha);
    appendFileSync(t.file, t.data.subarray(0, BS));
    await assert.rejects(f.finish(), /ended after block 1 of 2/);
  });
});
