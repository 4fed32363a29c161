/**
 * The scan cutter's first look at a chunk on a hash worker (zero pages, or the hash when
 * there are none): the same pages as the cutter's own check, the same cut, and every block
 * that carries a hash carries the SHA-256 of its very bytes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BufferPool } from '../../../src/ingest/buffer-pool.js';
import { mainThreadHasher, WorkerHasher, zeroPagesOf } from '../../../src/ingest/hash-workers.js';
import { PAGE, SCAN_HERE_BYTES, ScanCutter, type ScanOptions } from '../../../src/ingest/scan-cutter.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const workers = new WorkerHasher(2);
after(() => workers.close());

/** Pages of random bytes, some all zeros, some zero but for one byte (first, middle or last), the last page short. */
function sample(pages: number, seed: number): Buffer {
  const b = randomBytes(pages * PAGE - 100);
  for (let i = 0; i < pages; i++) {
    const kind = (i * 7 + seed) % 5;
    if (kind >= 2) continue;
    const start = i * PAGE;
    const end = Math.min(b.length, start + PAGE);
    b.fill(0, start, end);
    if (kind === 1) b[start + [0, 1000, end - start - 1][(i + seed) % 3]!] = 9;
  }
  return b;
}

async function cut(content: Buffer, blockSize: number, options: ScanOptions) {
  const reader = { read: async (buf: Buffer, off: number, len: number, pos: number) => ({ bytesRead: content.copy(buf, off, pos, pos + len) }) };
  const scan = new ScanCutter(reader, content.length, blockSize, new BufferPool(blockSize, 4, true), new BufferPool(blockSize, 4, true), options);
  const blocks: { offset: number; hash: string; carried: boolean }[] = [];
  for await (const b of scan.blocks()) {
    blocks.push({ offset: b.offset, hash: sha(b.data), carried: b.hash !== undefined });
    if (b.hash !== undefined) assert.equal(b.hash, sha(b.data), 'a carried hash is the hash of the block');
    b.release();
  }
  return { tracks: scan.tracks, holes: scan.holes, blocks };
}

/** The plain definition, to check the fast one against: every byte of the page is 0. */
function isZeroRange(buf: Buffer, start: number, end: number): boolean {
  return buf.subarray(start, end).every((b) => b === 0);
}

describe('zero scan and hash on the hash workers', () => {
  it('finds every all-zero page and no other, on the main thread and on a worker', async () => {
    for (let seed = 0; seed < 4; seed++) {
      const data = sample(40, seed);
      const expected = Array.from({ length: Math.ceil(data.length / PAGE) }, (_, i) => (isZeroRange(data, i * PAGE, Math.min(data.length, (i + 1) * PAGE)) ? 1 : 0));
      assert.deepEqual([...(zeroPagesOf(data, PAGE) ?? [])], expected);
      const shared = (await new BufferPool(data.length, 1, true).acquire()).subarray(0, data.length);
      data.copy(shared);
      for (const r of [await workers.scanAndHash(shared, PAGE), await mainThreadHasher.scanAndHash(data, PAGE)]) {
        assert.equal(r.hash, undefined, 'no hash is spent on a chunk with zero pages');
        assert.deepEqual([...r.zeroPages!], expected);
      }
    }
  });

  it('hashes a chunk without zero pages, where the pages looked zero at either end', async () => {
    const data = randomBytes(5 * PAGE + 7);
    data[0] = 0;
    data[PAGE - 1] = 0;
    const shared = (await new BufferPool(data.length, 1, true).acquire()).subarray(0, data.length);
    data.copy(shared);
    assert.deepEqual(await workers.scanAndHash(shared, PAGE), { hash: sha(data) });
    assert.deepEqual(await mainThreadHasher.scanAndHash(data, PAGE), { hash: sha(data) });
  });

  it('cuts a file with holes the same with the workers looking first, and hashes only whole chunks that became blocks as they are', async () => {
    // Chunks larger than SCAN_HERE_BYTES go to the workers; the file's last, short one is scanned here.
    const B = SCAN_HERE_BYTES + 4 * PAGE;
    const blockSize = B;
    const content = Buffer.concat([randomBytes(2 * B), Buffer.alloc(B + 8 * PAGE), sample(B / PAGE + 20, 1), randomBytes(3 * PAGE + 11)]);
    const plain = await cut(content, blockSize, {});
    const scanned = await cut(content, blockSize, { scan: (d) => workers.scanAndHash(d, PAGE) });
    assert.deepEqual(scanned.tracks, plain.tracks);
    assert.deepEqual(scanned.holes, plain.holes);
    assert.deepEqual(scanned.blocks.map((b) => [b.offset, b.hash]), plain.blocks.map((b) => [b.offset, b.hash]));
    assert.ok(plain.blocks.every((b) => !b.carried));
    assert.ok(scanned.blocks.filter((b) => b.carried).length >= 2, 'the leading random chunks come with their hash');
    assert.ok(scanned.blocks.some((b) => !b.carried), 'blocks cut from chunks with zero pages are hashed later');
    assert.equal(scanned.blocks.at(-1)!.carried, false, 'a small chunk is scanned by the cutter and hashed later');
  });

  it('a failed scan fails the cut and gives its buffer back', async () => {
    const B = SCAN_HERE_BYTES + PAGE;
    const content = randomBytes(3 * B);
    const pool = new BufferPool(B, 2, true);
    const reader = { read: async (buf: Buffer, off: number, len: number, pos: number) => ({ bytesRead: content.copy(buf, off, pos, pos + len) }) };
    let n = 0;
    const scan = new ScanCutter(reader, content.length, B, pool, new BufferPool(B, 2, true), {
      scan: async (d) => {
        if (n++ === 1) throw new Error('worker gone');
        return workers.scanAndHash(d, PAGE);
      },
    });
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const b of scan.blocks()) {
          seen.push(b.offset);
          b.release();
        }
      })(),
      /worker gone/,
    );
    assert.deepEqual(seen, [0]);
    // Both buffers came back: two more can be taken at once.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const taken = await Promise.race([Promise.all([pool.acquire(), pool.acquire()]).then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 500))]);
    assert.equal(taken, true, 'a buffer was not given back');
  });

  it('reads a local file\'s bytes on a worker and scans them there; a short file or a missing one says so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'canopy-read-scan-'));
    try {
      const file = path.join(dir, 'f.bin');
      const content = Buffer.concat([randomBytes(3 * PAGE + 5), sample(6, 2)]);
      writeFileSync(file, content);
      const buf = await new BufferPool(64 * PAGE, 1, true).acquire();
      // Without zero pages: the hash of exactly the bytes read, at that position.
      const clean = await workers.readAndScan({ path: file, position: 7 }, buf.subarray(0, 3 * PAGE), PAGE);
      assert.deepEqual(clean, { bytesRead: 3 * PAGE, scan: { hash: sha(content.subarray(7, 7 + 3 * PAGE)) } });
      assert.ok(buf.subarray(0, 3 * PAGE).equals(content.subarray(7, 7 + 3 * PAGE)));
      // With zero pages: the same pages as the cutter's own check.
      const tail = content.subarray(3 * PAGE + 5);
      const zeros = await workers.readAndScan({ path: file, position: 3 * PAGE + 5 }, buf.subarray(0, tail.length), PAGE);
      assert.deepEqual([...zeros.scan!.zeroPages!], [...zeroPagesOf(tail, PAGE)!]);
      // The file ends first: how far it got, and no scan.
      assert.deepEqual(await workers.readAndScan({ path: file, position: content.length - 10 }, buf.subarray(0, PAGE), PAGE), { bytesRead: 10 });
      await assert.rejects(workers.readAndScan({ path: path.join(dir, 'gone'), position: 0 }, buf.subarray(0, PAGE), PAGE), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.message.includes('gone'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
