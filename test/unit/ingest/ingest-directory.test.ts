/**
 * Directory ingest: any tree of safe names laid out by layoutTree gives `files`, tracks and
 * holes that parseManifest accepts, with every non-empty file on a block boundary (property
 * test). A real tree on disk (spaces, non-ASCII, empty file and directory, symlink, FIFO)
 * ingests to a manifest whose file ranges read back the files' bytes; identical files give
 * identical blocks; a second version with one file changed shares every other block; a
 * symlink leaving the tree and a file changed during the ingest are refused with their codes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { checkFiles } from '../../../src/core/manifest-files.js';
import { parseManifest, type Manifest } from '../../../src/core/manifest.js';
import { layoutTree, type TreeItem } from '../../../src/ingest/directory-layout.js';
import { walkDirectory } from '../../../src/ingest/directory-walk.js';
import { WorkerHasher } from '../../../src/ingest/hash-workers.js';
import { ingestDirectory, ingestTree } from '../../../src/ingest/ingest-directory.js';
import { ingestReader } from '../../../src/ingest/ingest-file.js';
import type { BlockSink } from '../../../src/ingest/pipeline.js';

const privateKey = newEd25519PrivateKey();
const base = mkdtempSync(path.join(tmpdir(), 'canopy-dir-'));
after(() => rmSync(base, { recursive: true, force: true }));

const options = { name: 'tree', criteria: 'true', origin: 'a'.repeat(64), key: privateKey, hashThreads: 0, blockSize: 4096 };

/** A sink that keeps each block's bytes by hash, to read a file back from its blocks. */
function memorySink(): BlockSink & { blocks: Map<string, Buffer>; puts: number } {
  const blocks = new Map<string, Buffer>();
  const sink = {
    blocks,
    puts: 0,
    put: async (data: Buffer, hash: string) => {
      sink.puts++;
      blocks.set(hash, Buffer.from(data));
    },
  };
  return sink;
}

/** A file of a directory content rebuilt from its blocks, holes read as zeros (as a node serves it). */
function readWhole(m: Manifest, blocks: Map<string, Buffer>, file: string): Buffer {
  const f = m.files!.find((e) => e.path === file)!;
  const out = Buffer.alloc(f.size!);
  for (const b of m.blocks) if (b.offset >= f.offset! && b.offset < f.offset! + f.size!) blocks.get(b.hash)!.copy(out, b.offset - f.offset!);
  return out;
}

function readBack(m: Manifest, blocks: Map<string, Buffer>, file: string): Buffer {
  const f = m.files!.find((e) => e.path === file)!;
  const parts = m.blocks.filter((b) => b.offset >= f.offset! && b.offset < f.offset! + f.size!).map((b) => blocks.get(b.hash)!);
  return Buffer.concat(parts);
}

const segment = fc.oneof(fc.stringMatching(/^[a-z0-9 ._-]{1,8}$/), fc.constantFrom('é', 'ファイル', 'a b', '😀')).filter((s) => s !== '.' && s !== '..');

describe('layoutTree', () => {
  it('gives a layout parseManifest-level checks accept, files on block boundaries', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(segment, segment), { maxLength: 20, selector: ([a, b]) => `${a}/${b}` }), fc.array(fc.nat(20_000), { minLength: 20, maxLength: 20 }), fc.constantFrom(4096, 65536), (pairs, sizes, blockSize) => {
        const dirs = new Set(pairs.map(([a]) => a));
        const names = new Set(pairs.map(([a, b]) => `${a}/${b}`));
        const items: TreeItem[] = [...dirs].filter((d) => !names.has(d)).map((d) => ({ path: d, type: 'dir' as const, mode: 0o755 }));
        for (const [i, [a, b]] of pairs.entries()) if (!dirs.has(`${a}/${b}`)) items.push({ path: `${a}/${b}`, type: 'file', mode: 0o644, size: sizes[i]! });
        const legal = items.filter((it) => it.type === 'dir' || dirs.has(it.path.split('/')[0]!));
        const layout = layoutTree(legal, blockSize);
        checkFiles(layout.files, layout.size);
        let at = 0;
        for (const e of [...layout.tracks.map((t) => ({ ...t, hole: false })), ...layout.holes.map((h) => ({ ...h, hole: true }))].sort((x, y) => x.offset - y.offset)) {
          assert.equal(e.offset, at);
          at += e.length;
        }
        assert.equal(at, layout.size);
        for (const f of layout.files) if (f.type === 'file' && f.size! > 0) assert.equal(f.offset! % blockSize, 0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('ingestTree: runs of zeros in files', () => {
  const PAGE = 4096;
  // A file as pages: 'z' a zero page, 'd' a page of bytes (no zero byte), and a tail of 0-4095 bytes of either.
  const fileBytes = (pages: string, tail: number, seed: number) =>
    Buffer.concat([...pages].map((k, i) => (k === 'z' ? Buffer.alloc(PAGE) : Buffer.alloc(PAGE, 1 + ((seed + i) % 250)))).concat(Buffer.alloc(tail, tail % 2 ? 0 : 9)));

  it('holes are the files\' long zero runs, blocks cut per file as a lone file would be, the manifest valid, every file read back', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.stringMatching(/^[zd]{0,12}$/), fc.nat(PAGE - 1)), { minLength: 1, maxLength: 6 }), async (specs) => {
        const bytes = new Map(specs.map(([pages, tail], i) => [`f${i}`, fileBytes(pages, tail, i)]));
        const items: TreeItem[] = [...bytes].map(([p, b]) => ({ path: p, type: 'file', mode: 0o644, size: b.length }));
        const reader = (p: string) => ({ read: async (buf: Buffer, off: number, len: number, pos: number) => ({ bytesRead: bytes.get(p)!.copy(buf, off, pos, pos + len) }) });
        const sink = memorySink();
        // Blocks of 2 pages: a run of one zero page inside data is data, two or more a hole.
        const o = { ...options, blockSize: 2 * PAGE };
        const { manifest } = await ingestTree({ items, warnings: [], readerOf: reader, checkUnchanged: async () => undefined }, sink, o);
        const m = parseManifest(JSON.parse(JSON.stringify(manifest)));
        for (const [p, b] of bytes) {
          assert.deepEqual(readWhole(m, sink.blocks, p), b, p);
          // The same blocks as the file published alone: its cut depends on its bytes only.
          const f = m.files!.find((e) => e.path === p)!;
          const alone = await ingestReader(reader(p), b.length, memorySink(), { ...o, analysis: { analyser: 'generic', mediaType: 'application/octet-stream', warnings: [] } });
          assert.deepEqual(m.blocks.filter((x) => x.offset >= f.offset! && x.offset < f.offset! + f.size!).map((x) => [x.offset - f.offset!, x.hash]), alone.manifest.blocks.map((x) => [x.offset, x.hash]));
        }
        const stored = m.blocks.reduce((n, x) => n + x.length, 0);
        const zeroPagesInRuns = specs.reduce((n, [pages]) => n + [...pages.matchAll(/z{2,}/g)].reduce((k, r) => k + r[0].length, 0), 0);
        assert.ok(stored <= [...bytes.values()].reduce((n, b) => n + b.length, 0) - zeroPagesInRuns * PAGE, 'no run of two zero pages is stored');
      }),
      { numRuns: 60 },
    );
  });
});

describe('ingestDirectory', () => {
  const dir = path.join(base, 'model dir');
  mkdirSync(path.join(dir, 'sub/ファイル'), { recursive: true });
  mkdirSync(path.join(dir, 'empty dir'));
  writeFileSync(path.join(dir, 'config.json'), '{"a":1}');
  writeFileSync(path.join(dir, 'sub/ファイル/weights one.bin'), Buffer.alloc(10_000, 7));
  writeFileSync(path.join(dir, 'sub/copy.bin'), Buffer.alloc(10_000, 7));
  writeFileSync(path.join(dir, 'empty'), '');
  symlinkSync('sub/copy.bin', path.join(dir, 'latest'));
  execFileSync('mkfifo', [path.join(dir, 'pipe')]);

  it('publishes a tree whose files read back from their blocks', async () => {
    const sink = memorySink();
    const result = await ingestDirectory(dir, sink, options);
    const m = parseManifest(JSON.parse(JSON.stringify(result.manifest)));
    assert.equal(m.mediaType, 'inode/directory');
    assert.deepEqual(
      m.files!.map((f) => `${f.type}:${f.path}`),
      ['file:config.json', 'file:empty', 'dir:empty dir', 'symlink:latest', 'dir:sub', 'file:sub/copy.bin', 'dir:sub/ファイル', 'file:sub/ファイル/weights one.bin'],
    );
    assert.equal(m.files!.find((f) => f.path === 'latest')!.target, 'sub/copy.bin');
    assert.equal(readBack(m, sink.blocks, 'config.json').toString(), '{"a":1}');
    assert.deepEqual(readBack(m, sink.blocks, 'sub/ファイル/weights one.bin'), Buffer.alloc(10_000, 7));
    assert.ok(result.warnings.some((w) => w.includes('pipe')), 'the FIFO is skipped with a warning');
    // Two identical files (and two identical full blocks in each): 7 blocks, 3 distinct ones stored.
    assert.equal(m.blocks.length, 1 + 3 + 3);
    assert.equal(new Set(m.blocks.map((b) => b.hash)).size, 1 + 2);
  });

  it('a new version shares the blocks of every file that did not change', async () => {
    const v1 = await ingestDirectory(dir, memorySink(), options);
    writeFileSync(path.join(dir, 'config.json'), '{"a":2}');
    writeFileSync(path.join(dir, 'added.txt'), 'new');
    const v2 = await ingestDirectory(dir, memorySink(), options);
    const old = new Set(v1.manifest.blocks.map((b) => b.hash));
    const fresh = v2.manifest.blocks.filter((b) => !old.has(b.hash));
    assert.equal(fresh.length, 2, 'only config.json and added.txt have new blocks');
    rmSync(path.join(dir, 'added.txt'));
  });

  it('refuses a symlink that leaves the tree, naming it', async () => {
    const out = path.join(base, 'escape');
    mkdirSync(out);
    symlinkSync('../../etc/passwd', path.join(out, 'link'));
    await assert.rejects(ingestDirectory(out, memorySink(), options), (e) => isCanopyError(e, 'ERR_DIRECTORY_ENTRY') && e.message.includes('link'));
  });

  it('refuses a file that changes while it is read', async () => {
    const d = path.join(base, 'changing');
    mkdirSync(d);
    writeFileSync(path.join(d, 'a'), Buffer.alloc(50_000, 1));
    const sink: BlockSink = { put: async () => void writeFileSync(path.join(d, 'a'), Buffer.alloc(100, 2)) };
    await assert.rejects(ingestDirectory(d, sink, options), (e) => isCanopyError(e, 'ERR_SOURCE_CHANGED'));
  });

  it('holds a handful of descriptors whatever the number of files, and closes them all, also on failure', async () => {
    const d = path.join(base, 'many');
    for (let i = 0; i < 60; i++) {
      mkdirSync(path.join(d, `d${i % 5}`), { recursive: true });
      writeFileSync(path.join(d, `d${i % 5}`, `f${i}`), Buffer.alloc(3000 + i, i));
    }
    writeFileSync(path.join(d, 'big'), Buffer.alloc(9 * 2 ** 20 + 5, 9));
    // Only descriptors on the tree's files count: the runtime opens and closes its own meanwhile.
    const fds = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${d}/`);
        } catch {
          return false;
        }
      }).length;
    const before = fds();
    let most = 0;
    const sink: BlockSink = { put: async () => void (most = Math.max(most, fds() - before)) };
    const r = await ingestDirectory(d, sink, options);
    assert.equal(r.manifest.files!.filter((f) => f.type === 'file').length, 61);
    assert.ok(most <= 8 + 6 + 2, `at most the idle and in-flight files are open (saw ${most} more)`);
    assert.equal(fds(), before);
    const failing: BlockSink = { put: async (_d, _h, block) => void (block.index === 0 && rmSync(path.join(d, 'd4'), { recursive: true, force: true })) };
    await assert.rejects(ingestDirectory(d, failing, options));
    assert.equal(fds(), before);
  });
});

describe('ingestTree: the store\'s last flush overlaps the check and the manifest', () => {
  const items: TreeItem[] = [{ path: 'a', type: 'file', mode: 0o644, size: 5000 }];
  const reader = () => ({ read: async (buf: Buffer, off: number, len: number) => ({ bytesRead: buf.fill(3, off, off + len) && len }) });
  /** A sink whose flush settles when the test says; `started` once the pipeline asked for it. */
  function slowFlushSink() {
    let settle!: (err?: Error) => void;
    const state = { started: false, settled: false };
    const sink: BlockSink = {
      put: async () => undefined,
      flush: () => {
        state.started = true;
        return new Promise<void>((resolve, reject) => (settle = (err) => ((state.settled = true), err ? reject(err) : resolve())));
      },
    };
    return { sink, state, settle: (err?: Error) => settle(err) };
  }

  it('checks the tree while the flush runs, and returns only once it settled', async () => {
    const s = slowFlushSink();
    let checkedDuringFlush = false;
    let done = false;
    const p = ingestTree({ items, warnings: [], readerOf: reader, checkUnchanged: async () => void (checkedDuringFlush = s.state.started && !s.state.settled) }, s.sink, options).then((r) => ((done = true), r));
    while (!s.state.started) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'not complete before the blocks are durable');
    assert.ok(checkedDuringFlush, 'the tree was checked while the flush ran');
    s.settle();
    assert.equal((await p).manifest.files!.length, 1);
  });

  it('a failed flush is the error, after the check; a failed check waits for the flush', async () => {
    const a = slowFlushSink();
    const p1 = ingestTree({ items, warnings: [], readerOf: reader, checkUnchanged: async () => undefined }, a.sink, options);
    while (!a.state.started) await new Promise((r) => setTimeout(r, 2));
    a.settle(new Error('disk gone'));
    await assert.rejects(p1, /disk gone/);
    const b = slowFlushSink();
    let settledFirst = false;
    const p2 = ingestTree({ items, warnings: [], readerOf: reader, checkUnchanged: async () => { throw new Error('changed'); } }, b.sink, options).catch((e: Error) => ((settledFirst = b.state.settled), e));
    while (!b.state.started) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    b.settle();
    assert.match(((await p2) as Error).message, /changed/);
    assert.ok(settledFirst, 'the check\'s error comes only after the flush settled');
  });
});

describe('walkDirectory', () => {
  it('finds every entry of a tree many directories wide and deep, each once', async () => {
    const d = path.join(base, 'wide');
    const want = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const sub = `l${i % 4}/m${i % 9}/n${i}`;
      mkdirSync(path.join(d, sub), { recursive: true });
      writeFileSync(path.join(d, sub, `f${i}`), `${i}`);
      want.add(`${sub}/f${i}`);
      for (const part of [sub.split('/')[0]!, sub.split('/').slice(0, 2).join('/'), sub]) want.add(part);
    }
    const walk = await walkDirectory(d);
    assert.deepEqual(walk.items.map((it) => it.path).sort(), [...want].sort());
    assert.equal(walk.disk.size, 40);
    assert.equal(walk.disk.get('l1/m1/n1/f1')!.size, 1);
  });
});

describe('ingestTree with hash threads started by the caller', () => {
  it('hashes on them and leaves them running for the caller to close', async () => {
    const hasher = new WorkerHasher(1);
    try {
      const bytes = Buffer.alloc(300_000, 5);
      const items: TreeItem[] = [{ path: 'x', type: 'file', mode: 0o644, size: bytes.length }];
      const reader = () => ({ read: async (buf: Buffer, off: number, len: number, pos: number) => ({ bytesRead: bytes.copy(buf, off, pos, pos + len) }) });
      const r = await ingestTree({ items, warnings: [], readerOf: reader, checkUnchanged: async () => undefined }, memorySink(), { ...options, hashThreads: 1, blockSize: 65536 }, hasher);
      assert.equal(r.manifest.blocks[0]!.hash, createHash('sha256').update(bytes.subarray(0, 65536)).digest('hex'));
      const shared = Buffer.from(new SharedArrayBuffer(3));
      shared.write('abc');
      assert.equal(await hasher.hash(shared), createHash('sha256').update('abc').digest('hex'), 'still running after the ingest');
    } finally {
      await hasher.close();
    }
  });
});
