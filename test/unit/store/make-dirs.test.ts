// makeDirs: mkdir -p that fails instead of looping where a parent refuses its children (/proc).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeDirs } from '../../../src/store/make-dirs.js';

describe('makeDirs', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'canopy-make-dirs-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('makes the missing levels and returns the first it made, as mkdir -p does', () => {
    const dir = path.join(root, 'a', 'b', 'c');
    assert.equal(makeDirs(dir, 0o700), path.join(root, 'a'));
    assert.ok(statSync(dir).isDirectory());
    assert.equal(statSync(path.join(root, 'a', 'b')).mode & 0o777, 0o700 & ~process.umask());
    assert.equal(makeDirs(dir), undefined);
    assert.equal(makeDirs(path.join(dir, 'd')), path.join(dir, 'd'));
  });

  it('resolves a relative path', () => {
    mkdirSync(path.join(root, 'r'));
    const cwd = process.cwd();
    process.chdir(root);
    try {
      assert.equal(makeDirs('r/s'), path.join(root, 'r', 's'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('fails on a file where a directory should be, like mkdir', () => {
    const file = path.join(root, 'file');
    writeFileSync(file, 'x');
    assert.throws(() => makeDirs(file), { code: 'EEXIST' });
    assert.throws(() => makeDirs(path.join(file, 'sub')), { code: 'ENOTDIR' });
  });

  it('fails, rather than looping, under a parent that refuses children with ENOENT', () => {
    assert.throws(() => makeDirs('/proc/canopy-no-such-dir/x'), { code: 'ENOENT', path: '/proc/canopy-no-such-dir' });
  });
});
