import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import type { BlockRef, Manifest } from '../../../src/core/manifest.js';
import { BlockStore } from '../../../src/store/block-store.js';
import type { BlockSource, FetchOptions } from '../../../src/vfile/block-fetcher.js';
import { SequentialReads } from '../../../src/vfile/sequential-reads.js';
import { VirtualFile } from '../../../src/vfile/virtual-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-vfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const BLOCK = 1000;

/** A content of 8 block slots where slots 2 and 5 are holes (no block: they read as zeros). */
function content(): { manifest: Manifest; bytes: Buffer; blocks: Map<number, Buffer> } {
  const bytes = Buffer.alloc(8 * BLOCK - 300);
  const refs: BlockRef[] = [];
  const blocks = new Map<number, Buffer>();
  for (let slot = 0; slot < 8; slot++) {
    if (slot === 2 || slot === 5) continue;
    const data = randomBytes(Math.min(BLOCK, bytes.length - slot * BLOCK));
    data.copy(bytes, slot * BLOCK);
    blocks.set(refs.length, data);
    refs.push({ track: refs.length, index: 0, offset: slot * BLOCK, length: data.length, hash: sha256Hex(data) });
  }
  const manifest = { name: 'c.bin', size: bytes.length, blockSize: BLOCK, blocks: refs } as unknown as Manifest;
  return { manifest, bytes, blocks };
}

/** Fake swarm: serves blocks from memory and stores them, recording what was asked. */
class MemorySource implements BlockSource {
  readonly asked: number[] = [];
  constructor(
    private readonly store: BlockStore,
    private readonly blocks: Map<number, Buffer>,
    private readonly manifest: Manifest,
  ) {}
  async fetchBlock(_id: string, index: number, options?: FetchOptions): Promise<Buffer> {
    this.asked.push(index);
    assert.ok(options?.deadline && options.deadline > Date.now());
    const data = this.blocks.get(index)!;
    await this.store.put(data, this.manifest.blocks[index]!.hash);
    return data;
  }
}

async function readAll(file: VirtualFile, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of file.read(start, end)) parts.push(p);
  return Buffer.concat(parts);
}

/** Index lookup for blocks that may not be uniformly laid out (holes): the block containing or following each offset. */
function blocksFor(manifest: Manifest, start: number, end: number): number[] {
  return manifest.blocks.flatMap((b, i) => (b.offset + b.length > start && b.offset <= end ? [i] : []));
}

describe('virtual file', () => {
  it('reads any range as the original bytes, holes as zeros, fetching missing blocks on demand', async () => {
    const store = new BlockStore(path.join(dir, 'a'), [{ path: path.join(dir, 'a', 'v0') }]);
    const { manifest, bytes, blocks } = content();
    await store.put(blocks.get(0)!);
    const source = new MemorySource(store, blocks, manifest);
    const file = new VirtualFile(manifest, store, { contentId: 'x'.repeat(64), source, readAhead: 0 });
    file.blocksFor = (s, e) => blocksFor(manifest, s, e);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), fc.nat({ max: bytes.length - 1 }), async (a, b) => {
        const [s, e] = a <= b ? [a, b] : [b, a];
        assert.deepEqual(await readAll(file, s, e), bytes.subarray(s, e + 1));
      }),
      { numRuns: 200 },
    );
    assert.ok(!source.asked.includes(0), 'a local block is never fetched');
    store.close();
  });

  it('fetches ahead of a sequential reader, to disk', async () => {
    const store = new BlockStore(path.join(dir, 'b'), [{ path: path.join(dir, 'b', 'v0') }]);
    const { manifest, blocks } = content();
    const source = new MemorySource(store, blocks, manifest);
    const file = new VirtualFile(manifest, store, { contentId: 'x'.repeat(64), source, readAhead: 3 });
    file.blocksFor = (s, e) => blocksFor(manifest, s, e);
    const it = file.read(0, manifest.size - 1);
    await it.next();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(source.asked.length >= 4, `asked ${source.asked.join(',')}`);
    for await (const _ of it);
    assert.ok(manifest.blocks.every((b) => store.has(b.hash)));
    store.close();
  });

  it('reads past a bounded range only when the read continues an earlier one', async () => {
    const store = new BlockStore(path.join(dir, 'd'), [{ path: path.join(dir, 'd', 'v0') }]);
    const { manifest, bytes, blocks } = content();
    const source = new MemorySource(store, blocks, manifest);
    const sequential = new SequentialReads();
    const file = new VirtualFile(manifest, store, { contentId: 'y'.repeat(64), source, readAhead: 2, sequential });
    file.blocksFor = (s, e) => blocksFor(manifest, s, e);
    assert.deepEqual(await readAll(file, 0, 999), bytes.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(source.asked, [0], 'a first bounded read does not read past its range');
    assert.deepEqual(await readAll(file, 1000, 1999), bytes.subarray(1000, 2000));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(source.asked.sort(), [0, 1, 2, 3], 'a continuing read fetches the next blocks ahead');
    store.close();
  });

  it('without a source, a missing block is ERR_NOT_HELD', async () => {
    const store = new BlockStore(path.join(dir, 'c'), [{ path: path.join(dir, 'c', 'v0') }]);
    const { manifest } = content();
    const file = new VirtualFile(manifest, store);
    assert.equal(file.canServe(0, 10), false);
    await assert.rejects(readAll(file, 0, 10), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_NOT_HELD');
    store.close();
  });
});
