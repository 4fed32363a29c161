import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { CutBlock } from '../../../src/ingest/cut-block.js';
import { storeSink } from '../../../src/ingest/sinks.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { SMALL_BLOCK_BYTES } from '../../../src/store/small-write.js';
import { Volume } from '../../../src/store/volume.js';

const root = mkdtempSync(path.join(tmpdir(), 'canopy-small-write-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => path.join(root, `${name}-${n++}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('small blocks: staged buffered, committed in batches', () => {
  it('stages small and large blocks alike: whole under their names after one commit, no temp file left', async () => {
    const dir = fresh('vol');
    const volume = Volume.open({ path: dir }, undefined, 'v0', false);
    const small = randomBytes(SMALL_BLOCK_BYTES - 7);
    const pieces = [randomBytes(3000), randomBytes(0), randomBytes(5001)];
    const large = randomBytes(SMALL_BLOCK_BYTES + 4096 + 3);
    const joined = Buffer.concat(pieces);
    const staged = await Promise.all([volume.stage(sha(small), small), volume.stage(sha(joined), pieces), volume.stage(sha(large), large)]);
    assert.equal(readdirSync(path.join(dir, 'tmp')).length, 3, 'staged: temp files, nothing under a block name yet');
    assert.equal(existsSync(volume.blockPath(sha(small))), false);
    await volume.commit(staged);
    for (const b of [small, joined, large]) assert.ok(readFileSync(volume.blockPath(sha(b))).equals(b), 'whole under its name after the commit');
    assert.deepEqual(readdirSync(path.join(dir, 'tmp')), []);
  });

  it('a failed small write leaves no temp file and says why', async () => {
    const dir = fresh('vol');
    const volume = Volume.open({ path: dir }, undefined, 'v0', false);
    rmSync(path.join(dir, 'tmp'), { recursive: true });
    const block = randomBytes(1000);
    await assert.rejects(volume.stage(sha(block), block), { code: 'ENOENT' });
    assert.equal(existsSync(path.join(dir, 'tmp')), false);
  });

  it('holds a deferred block while a writer says more follow, so the next block commits with it', async () => {
    const store = new BlockStore(fresh('data'), [{ path: fresh('vol') }]);
    const done = store.expectWrites();
    const a = randomBytes(5000);
    const { durable } = await store.stageHashed(sha(a), a, { stripe: 's', index: 0 }, true);
    // A block whose put waits for it commits at once and takes the held one along.
    const b = randomBytes(6000);
    await store.putHashed(sha(b), b, { stripe: 's', index: 1 });
    await durable;
    assert.deepEqual(store.commitStats(), { batches: 1, blocks: 2 }, 'without the hold the first block was committed alone');
    done.done();
    store.close();
  });

  it('a held block commits by itself after the linger when its writer never says it is done', async () => {
    const store = new BlockStore(fresh('data'), [{ path: fresh('vol') }]);
    store.expectWrites();
    const a = randomBytes(5000);
    await (await store.stageHashed(sha(a), a, undefined, true)).durable;
    assert.ok(store.has(sha(a)));
    store.close();
  });

  it('storeSink says more follow until its flush: its small blocks wait for company', async () => {
    const store = new BlockStore(fresh('data'), [{ path: fresh('vol') }]);
    const sink = storeSink(store);
    const a = randomBytes(3000);
    await sink.put(a, sha(a), undefined as unknown as CutBlock);
    const b = randomBytes(4000);
    await store.putHashed(sha(b), b);
    await sink.flush();
    assert.deepEqual(store.commitStats(), { batches: 1, blocks: 2 });
    store.close();
  });
});
