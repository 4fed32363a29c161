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

describe('small blocks: staged on the event loop, committed in batches', () => {
  it('has a small block in its temp file before stage() is awaited; small and large blocks commit together', async () => {
    const dir = fresh('vol');
    const volume = Volume.open({ path: dir }, undefined, 'v0', false);
    const small = randomBytes(SMALL_BLOCK_BYTES - 7);
    const large = randomBytes(SMALL_BLOCK_BYTES + 4096 + 3);
    const stagingSmall = volume.stage(sha(small), small);
    const temps = readdirSync(path.join(dir, 'tmp'));
    assert.equal(temps.length, 1, 'the small block is written before stage() yields');
    assert.ok(readFileSync(path.join(dir, 'tmp', temps[0]!)).equals(small));
    const stagingLarge = volume.stage(sha(large), large);
    const staged = await Promise.all([stagingSmall, stagingLarge]);
    await volume.commit(staged);
    for (const b of [small, large]) assert.ok(readFileSync(volume.blockPath(sha(b))).equals(b), 'whole under its name after the commit');
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
