import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isCanopyError } from '../../../src/core/errors.js';
import { IndexDb } from '../../../src/store/index-db.js';
import { classifyIoError } from '../../../src/store/volume.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('store index', () => {
  it('upgrades an index written by the walking skeleton in place', () => {
    const file = path.join(dir, 'old.db');
    const old = new Database(file);
    old.exec(`
      CREATE TABLE blocks (hash TEXT PRIMARY KEY, volume TEXT NOT NULL, length INTEGER NOT NULL, stored_at INTEGER NOT NULL, last_access INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE contents (id TEXT PRIMARY KEY, name TEXT NOT NULL, manifest TEXT NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO blocks VALUES ('${'a'.repeat(64)}', 'v0', 10, 1, 1);
      INSERT INTO contents VALUES ('c1', 'one', '{"placement":"full","blocks":[{"hash":"${'a'.repeat(64)}"}]}', '2026-01-01');
    `);
    old.close();
    // A reader (another process: a verifier, a second edge) cannot upgrade it: a clear error.
    assert.throws(() => new IndexDb(file, true), (err: unknown) => isCanopyError(err) && err.code === 'ERR_CONFIG_INVALID' && /older Canopy.*start the node/.test(err.message));
    const index = new IndexDb(file);
    assert.deepEqual(index.getBlock('a'.repeat(64)), { hash: 'a'.repeat(64), volume: 'v0', length: 10, pack: null, offset: 0 }); // a row from before packs: its own file
    assert.equal(index.isReferenced('a'.repeat(64)), true);
    assert.deepEqual(index.contentState('c1'), { state: 'active', pinned: false });
    assert.deepEqual(index.evictionCandidates().map((c) => c.id), ['c1']);
    index.close();
    // Once upgraded, a reader opens it.
    const reader = new IndexDb(file, true);
    assert.equal(reader.getBlock('a'.repeat(64))?.length, 10);
    reader.close();
  });

  it('tells full disks from failed ones from missing files', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(classifyIoError(err('ENOSPC')), 'full');
    assert.equal(classifyIoError(err('EIO')), 'failed');
    assert.equal(classifyIoError(err('EROFS')), 'failed');
    assert.equal(classifyIoError(err('ENOENT')), 'missing');
    assert.equal(classifyIoError(err('EMFILE')), 'other');
    assert.equal(classifyIoError(undefined), 'other');
  });
});
