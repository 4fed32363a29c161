import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alignedBuffers } from '../../../src/core/aligned-memory.js';
import type { CutBlock } from '../../../src/ingest/cut-block.js';
import { storeSink } from '../../../src/ingest/sinks.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { SMALL_BLOCK_BYTES } from '../../../src/store/small-write.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-sink-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('storeSink (the ingest writing into the store)', () => {
  it('takes a buffer back as soon as its bytes are staged, and flush settles once every block is durable and indexed', async () => {
    const volumes = ['v0', 'v1'].map((v) => path.join(dir, v));
    const store = new BlockStore(path.join(dir, 'data'), volumes.map((v) => ({ path: v })));
    const sink = storeSink(store);
    // One page-aligned buffer (the O_DIRECT path writes it in place: larger than the blocks
    // staged on the event loop), scribbled over after each put.
    const [buffer] = alignedBuffers(SMALL_BLOCK_BYTES + 64 * 1024 + 100, 1, false);
    const expected: { hash: string; bytes: Buffer }[] = [];
    for (let i = 0; i < 48; i++) {
      buffer!.fill(i + 1);
      const bytes = Buffer.from(buffer!);
      const hash = createHash('sha256').update(bytes).digest('hex');
      await sink.put(buffer!, hash, undefined as unknown as CutBlock);
      buffer!.fill(0xee);
      expected.push({ hash, bytes });
    }
    await sink.flush();
    for (const { hash, bytes } of expected) {
      assert.ok(store.has(hash), `block ${hash.slice(0, 12)} is indexed after flush`);
      assert.ok((await store.get(hash)).equals(bytes));
      const file = volumes.map((v) => path.join(v, 'blocks', hash.slice(0, 2), hash)).find((f) => {
        try {
          return readFileSync(f).equals(bytes);
        } catch {
          return false;
        }
      });
      assert.ok(file, `block ${hash.slice(0, 12)} is whole on a volume`);
    }
    for (const v of volumes) assert.deepEqual(readdirSync(path.join(v, 'tmp')), []);
    assert.equal(store.commitStats().blocks, 48);
    store.close();
  });
});
