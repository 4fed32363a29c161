/**
 * The `files` section of a directory manifest: safe relative paths are accepted, and a path
 * with `..`, `.`, an empty segment, a leading `/`, a NUL or a backslash is refused wherever
 * it appears, through parseManifest too (property tests). Symlink targets stay in the tree;
 * file ranges stay inside the content and do not overlap; parents are listed directories.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { checkFiles, pathProblem, targetProblem, type FileEntry } from '../../../src/core/manifest-files.js';
import { parseManifest } from '../../../src/core/manifest.js';
import { makeManifest } from '../../helpers/manifests.js';
import { contentObjects, listedObjects, objectAt } from '../../../src/edge/s3/s3-objects.js';

const segment = fc.oneof(fc.stringMatching(/^[a-zA-Z0-9 ._-]{1,12}$/), fc.constantFrom('é', 'ファイル', 'with space', '😀', '.hidden', '...')).filter((s) => s !== '.' && s !== '..');
const safePath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((a) => a.join('/'));
const bad = fc.constantFrom('..', '.', '');

const utf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A valid tree: every parent listed as a dir, files laid end to end. */
function tree(paths: string[]): { files: FileEntry[]; size: number } {
  const all = new Map<string, FileEntry>();
  let offset = 0;
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!all.has(dir)) all.set(dir, { path: dir, type: 'dir', mode: 0o755 });
    }
  }
  for (const p of paths) {
    if (all.has(p)) continue;
    const size = p.length;
    all.set(p, { path: p, type: 'file', mode: 0o644, offset, size });
    offset += size;
  }
  return { files: [...all.values()].sort((a, b) => utf8(a.path, b.path)), size: offset };
}

describe('manifest files section', () => {
  it('accepts any tree of safe relative paths, and S3 lists its files by path', () => {
    fc.assert(
      fc.property(fc.uniqueArray(safePath, { minLength: 1, maxLength: 12 }), (paths) => {
        // A path that is also another's directory becomes that directory.
        const { files, size } = tree(paths);
        assert.deepEqual(checkFiles(files, size), files);
        const m = makeManifest({ size, blockSize: 4096, tracks: size > 0 ? [{ offset: 0, length: size }] : [] }, undefined, { files, name: 'tree' });
        const parsed = parseManifest(JSON.parse(JSON.stringify(m)));
        const objects = contentObjects('c'.repeat(64), parsed);
        assert.deepEqual(objects.map((o) => o.key), files.filter((f) => f.type === 'file').map((f) => f.path));
        assert.ok(objects.every((o) => o.offset + o.size <= size));
        // What GetObject and ListObjects use: the same objects, found by key, kept per manifest and id.
        assert.deepEqual(listedObjects('c'.repeat(64), parsed), objects);
        for (const o of objects) assert.deepEqual(objectAt('c'.repeat(64), parsed, o.key), o);
        assert.equal(objectAt('c'.repeat(64), parsed, 'no/such/key'), undefined);
        assert.equal(listedObjects('c'.repeat(64), parsed), listedObjects('c'.repeat(64), parsed));
        assert.deepEqual(listedObjects('d'.repeat(64), parsed), contentObjects('d'.repeat(64), parsed));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses ., .., empty segments, absolute paths, NUL and backslash wherever they are', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 3 }), bad, fc.array(segment, { maxLength: 3 }), fc.boolean(), (before, b, after, absolute) => {
        const path = `${absolute ? '/' : ''}${[...before, b, ...after].join('/')}`;
        assert.ok(pathProblem(path) !== undefined, path);
        const files = [{ path, type: 'file', mode: 0o644, offset: 0, size: 0 }];
        assert.throws(() => checkFiles(files, 0), (e) => isCanopyError(e, 'ERR_MANIFEST_INVALID'));
      }),
    );
    for (const p of ['/etc/passwd', 'a\\..\\b', 'a\0b', 'a//b', 'a/', '\uD800x']) assert.ok(pathProblem(p) !== undefined, JSON.stringify(p));
    const { files } = tree(['a/b']);
    const m = makeManifest({ size: 3, blockSize: 4096, tracks: [{ offset: 0, length: 3 }] }, undefined, { files: [...files.slice(0, 1), { path: 'a/../../x', type: 'file', mode: 0o644, offset: 0, size: 3 }] });
    assert.throws(() => parseManifest(JSON.parse(JSON.stringify(m))), /files\[1\]\.path has an empty, "\." or "\.\." segment/);
  });

  it('keeps symlinks inside the tree, files inside the content, parents listed, order strict', () => {
    assert.equal(targetProblem('a/link', '../b'), undefined);
    assert.equal(targetProblem('a/link', '../../b'), 'leaves the tree');
    assert.ok(targetProblem('link', '/etc/passwd'));
    const dir = { path: 'a', type: 'dir', mode: 0o755 };
    const cases: [unknown[], number, RegExp][] = [
      [[dir, { path: 'a/l', type: 'symlink', mode: 0o777, target: '../../etc' }], 0, /leaves the tree/],
      [[{ path: 'f', type: 'file', mode: 0o644, offset: 5, size: 10 }], 10, /inside the content/],
      [[{ path: 'f', type: 'file', mode: 0o644, offset: 0, size: 6 }, { path: 'g', type: 'file', mode: 0o644, offset: 5, size: 5 }], 10, /overlap/],
      [[{ path: 'a/f', type: 'file', mode: 0o644, offset: 0, size: 1 }], 1, /not listed as a dir/],
      [[{ path: 'a', type: 'file', mode: 0o644, offset: 0, size: 1 }, { path: 'a/f', type: 'file', mode: 0o644, offset: 1, size: 0 }], 1, /not listed as a dir/],
      [[{ path: 'b', type: 'dir', mode: 0o755 }, dir], 0, /out of order/],
      [[dir, dir], 0, /out of order or repeats/],
      [[{ path: 'a', type: 'dir', mode: 0o755, size: 3 }], 0, /takes exactly/],
      [[{ path: 'a', type: 'fifo', mode: 0o644 }], 0, /type must be/],
      [[{ path: 'a', type: 'dir', mode: 0o10000 }], 0, /mode/],
      [{} as unknown[], 0, /array/],
    ];
    for (const [files, size, why] of cases) assert.throws(() => checkFiles(files, size), why, JSON.stringify(files));
  });
});
