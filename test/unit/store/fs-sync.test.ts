import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FsSync, fsSync, syncRunner, type FsSyncRunner, type SyncableFile } from '../../../src/store/fs-sync.js';
import { PROBE_EVERY, SyncChoice } from '../../../src/store/sync-choice.js';
import { Volume } from '../../../src/store/volume.js';

const root = mkdtempSync(path.join(tmpdir(), 'canopy-fs-sync-'));
after(() => rmSync(root, { recursive: true, force: true }));
const realSync = syncRunner();

/** The real `sync -f`, recording each run: when it started and ended, and optionally held open until `release`. */
function recordingRunner(hold = false) {
  const runs: { dir: string; ended: boolean }[] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const runner: FsSyncRunner = async (dir) => {
    const run = { dir, ended: false };
    runs.push(run);
    await realSync(dir);
    await gate;
    run.ended = true;
  };
  return {
    runs,
    runner,
    holdNext() {
      if (!hold) return;
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

/** Real temp files, each recording whether a file-system sync had ended when its own sync ran. */
async function files(n: number, runs: { ended: boolean }[], tag: string) {
  const handles: FileHandle[] = [];
  const seen: (boolean | undefined)[] = [];
  const wrapped: SyncableFile[] = [];
  for (let i = 0; i < n; i++) {
    const fh = await open(path.join(root, `${tag}-${i}`), 'wx');
    await fh.writeFile(`bytes ${tag} ${i}`);
    handles.push(fh);
    wrapped.push({
      datasync: async () => {
        seen[i] = runs.length > 0 && runs.at(-1)!.ended;
        await fh.datasync();
      },
    });
  }
  return { wrapped, seen, close: () => Promise.all(handles.map((h) => h.close())) };
}

describe('one file-system sync per batch, then each file its own check', () => {
  it('a batch of at least the minimum runs one `sync -f` on its directory, and each file is synced after it ended', async () => {
    const r = recordingRunner();
    const sync = new FsSync('always', r.runner, 4);
    const f = await files(6, r.runs, 'a');
    await sync.syncFiles(root, f.wrapped);
    assert.equal(r.runs.length, 1);
    assert.equal(r.runs[0]!.dir, root);
    assert.deepEqual(f.seen, Array(6).fill(true), 'every file synced after the file-system sync');
    assert.deepEqual(sync.stats, { syncfsBatches: 1, perFileBatches: 0, failures: 0 });
    await f.close();
  });

  it('a smaller batch, or with the file-system sync turned off, syncs file by file only', async () => {
    const r = recordingRunner();
    const small = new FsSync('always', r.runner, 4);
    const f = await files(3, r.runs, 'b');
    await small.syncFiles(root, f.wrapped);
    const off = new FsSync('off', r.runner, 1);
    await off.syncFiles(root, f.wrapped);
    assert.equal(r.runs.length, 0);
    assert.deepEqual(small.stats, { syncfsBatches: 0, perFileBatches: 1, failures: 0 });
    assert.deepEqual(off.stats, { syncfsBatches: 0, perFileBatches: 1, failures: 0 });
    await f.close();
  });

  it('batches that ask while a sync runs share the next one, which starts after it ended', async () => {
    const r = recordingRunner(true);
    const sync = new FsSync('always', r.runner, 1);
    const [f1, f2, f3] = [await files(2, r.runs, 'c1'), await files(2, r.runs, 'c2'), await files(2, r.runs, 'c3')];
    r.holdNext();
    const first = sync.syncFiles(root, f1.wrapped);
    // The first sync is running (held open): these two were written before it ended, so it may not count for them.
    while (r.runs.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = sync.syncFiles(root, f2.wrapped);
    const third = sync.syncFiles(root, f3.wrapped);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(r.runs.length, 1, 'the next sync waits for the running one');
    r.release();
    await Promise.all([first, second, third]);
    assert.equal(r.runs.length, 2, 'the two waiting batches shared one sync');
    assert.deepEqual([...f2.seen, ...f3.seen], [true, true, true, true]);
    assert.equal(sync.stats.syncfsBatches, 3);
    await Promise.all([f1.close(), f2.close(), f3.close()]);
  });

  it('a failed `sync -f` costs the batch its shortcut, not its guarantee: each file is synced alone', async () => {
    const gone = path.join(root, 'no-such-dir');
    const sync = new FsSync('always', realSync, 1);
    const f = await files(2, [], 'd');
    // The device is found from the volume's directory; the runner then fails on a missing one.
    const failing = new FsSync('always', async () => realSync(gone), 1);
    await failing.syncFiles(root, f.wrapped);
    assert.deepEqual(failing.stats, { syncfsBatches: 0, perFileBatches: 1, failures: 1 });
    await failing.syncFiles(root, f.wrapped);
    assert.equal(failing.stats.failures, 2, 'a failure does not turn it off: the next batch tries again');
    // A volume directory that is gone: no device, file by file (whose errors are the system's).
    await sync.syncFiles(gone, f.wrapped);
    assert.deepEqual(sync.stats, { syncfsBatches: 0, perFileBatches: 1, failures: 0 });
    await f.close();
  });

  it('without a `sync` program it stops trying', async () => {
    const sync = new FsSync('always', syncRunner('canopy-no-such-sync-program'), 1);
    const f = await files(2, [], 'e');
    await sync.syncFiles(root, f.wrapped);
    await sync.syncFiles(root, f.wrapped);
    assert.deepEqual(sync.stats, { syncfsBatches: 0, perFileBatches: 2, failures: 1 });
    await f.close();
  });

  it("a file's own sync error fails the batch even after a file-system sync succeeded", async () => {
    const sync = new FsSync('always', realSync, 1);
    const f = await files(2, [], 'f');
    await f.close();
    // Closed descriptors: their sync fails (EBADF), as a file whose writeback failed reports EIO.
    await assert.rejects(sync.syncFiles(root, f.wrapped), { code: 'EBADF' });
    assert.equal(sync.stats.syncfsBatches, 1);
  });

  it("a volume's commit of a batch goes through it: blocks whole and named, no temp file left", async () => {
    const volume = Volume.open({ path: path.join(root, 'vol') }, undefined, 'v0', false);
    const before = { ...fsSync.stats };
    const blocks = Array.from({ length: 12 }, (_, i) => Buffer.from(`block ${i} `.repeat(100 + i * 500)));
    const staged = await Promise.all(blocks.map((b, i) => volume.stage(`${i}`.padStart(64, '0'), b)));
    await volume.commit(staged);
    for (const [i, b] of blocks.entries()) assert.deepEqual(await volume.read(`${i}`.padStart(64, '0')), b);
    assert.deepEqual(readdirSync(path.join(volume.dir, 'tmp')), []);
    const used = fsSync.stats.syncfsBatches - before.syncfsBatches + (fsSync.stats.perFileBatches - before.perFileBatches);
    assert.equal(used, 1, 'one batch');
    if (existsSync('/usr/bin/sync') || existsSync('/bin/sync')) assert.equal(fsSync.stats.syncfsBatches - before.syncfsBatches, 1, 'with `sync` installed, a batch of 12 uses it');
  });
});

describe('which way a batch is synced, measured per file system', () => {
  it('takes the cheaper way per file, and probes the other one now and then', () => {
    const choice = new SyncChoice();
    assert.equal(choice.next(), 'syncfs', 'each way is tried once first');
    choice.record('syncfs', 64, 32);
    assert.equal(choice.next(), 'per-file');
    choice.record('per-file', 16, 32);
    const ways = Array.from({ length: 2 * PROBE_EVERY }, () => choice.next());
    assert.equal(ways.filter((w) => w === 'syncfs').length, 2, 'one probe of the dearer way in PROBE_EVERY batches');
    // Others stopped writing: syncfs became cheap; a few probes bring it back.
    for (let i = 0; i < 3; i++) choice.record('syncfs', 3, 32);
    assert.equal(choice.next(), 'syncfs');
    assert.ok(choice.costs().syncfs! < choice.costs()['per-file']!);
  });

  it('in auto mode, a file system whose syncfs is slow gets its batches synced file by file', async () => {
    const slow: FsSyncRunner = async (dir) => {
      await realSync(dir);
      await new Promise((resolve) => setTimeout(resolve, 150));
    };
    const sync = new FsSync('auto', slow, 1);
    const f = await files(4, [], 'g');
    for (let i = 1; i < PROBE_EVERY; i++) await sync.syncFiles(root, f.wrapped);
    assert.equal(sync.stats.syncfsBatches, 1, 'tried once, then left until its probe');
    assert.equal(sync.stats.perFileBatches, PROBE_EVERY - 2);
    await sync.syncFiles(root, f.wrapped);
    assert.equal(sync.stats.syncfsBatches, 2, 'the probe');
    assert.ok(sync.costs(root)!.syncfs! > sync.costs(root)!['per-file']!);
    await f.close();
  });
});
