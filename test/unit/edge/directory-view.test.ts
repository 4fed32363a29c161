/**
 * Directory contents as the edges see them: lookups follow symlinks inside the tree (chains,
 * links to directories in the middle of a path) and give up on loops; listings give a
 * directory's children in path order; any entry of any laid-out tree is found at its own
 * path (property test). The HTTP listing's choice of HTML vs JSON by Accept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FileEntry } from '../../../src/core/manifest-files.js';
import type { Manifest } from '../../../src/core/manifest.js';
import { childrenOf, lookupPath } from '../../../src/edge/directory-view.js';
import { prefersHtml } from '../../../src/edge/http/directory-route.js';
import { layoutTree, type TreeItem } from '../../../src/ingest/directory-layout.js';

const manifestOf = (files: FileEntry[]) => ({ files }) as unknown as Manifest;

const tree = manifestOf([
  { path: 'a', type: 'dir', mode: 0o755 },
  { path: 'a/f', type: 'file', mode: 0o644, offset: 0, size: 3 },
  { path: 'b', type: 'symlink', mode: 0o777, target: 'a' },
  { path: 'c', type: 'symlink', mode: 0o777, target: 'b/f' },
  { path: 'd', type: 'dir', mode: 0o755 },
  { path: 'd/up', type: 'symlink', mode: 0o777, target: '../c' },
  { path: 'loop1', type: 'symlink', mode: 0o777, target: 'loop2' },
  { path: 'loop2', type: 'symlink', mode: 0o777, target: 'loop1' },
]);

describe('directory view', () => {
  it('follows links, through directories and chains, and stops on loops', () => {
    assert.equal(lookupPath(tree, ['a', 'f'])?.path, 'a/f');
    assert.equal(lookupPath(tree, ['b', 'f'])?.path, 'a/f');
    assert.equal(lookupPath(tree, ['c'])?.path, 'a/f');
    assert.equal(lookupPath(tree, ['d', 'up'])?.path, 'a/f');
    assert.equal(lookupPath(tree, ['b'])?.path, 'a');
    assert.equal(lookupPath(tree, [])?.path, '');
    assert.equal(lookupPath(tree, ['loop1']), undefined);
    assert.equal(lookupPath(tree, ['a', 'f', 'x']), undefined);
    assert.equal(lookupPath(tree, ['nope']), undefined);
  });

  it('lists children in path order', () => {
    assert.deepEqual(childrenOf(tree, '').map((f) => f.path), ['a', 'b', 'c', 'd', 'loop1', 'loop2']);
    assert.deepEqual(childrenOf(tree, 'd').map((f) => f.path), ['d/up']);
    assert.deepEqual(childrenOf(tree, 'a/f'), []);
  });

  it('finds every entry of any laid-out tree at its own path', () => {
    const seg = fc.stringMatching(/^[a-zé ._-]{1,6}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.uniqueArray(fc.array(seg, { minLength: 1, maxLength: 3 }), { maxLength: 15, selector: (p) => p.join('/') }), (paths) => {
        const items = new Map<string, TreeItem>();
        for (const p of paths) {
          for (let i = 1; i < p.length; i++) items.set(p.slice(0, i).join('/'), { path: p.slice(0, i).join('/'), type: 'dir', mode: 0o755 });
        }
        for (const p of paths) if (!items.has(p.join('/'))) items.set(p.join('/'), { path: p.join('/'), type: 'file', mode: 0o644, size: p.length });
        const m = manifestOf(layoutTree([...items.values()], 4096).files);
        for (const f of m.files!) assert.equal(lookupPath(m, f.path.split('/'))?.path, f.path);
        const listed = [...items.keys()].filter((k) => !k.includes('/')).length;
        assert.equal(childrenOf(m, '').length, listed);
      }),
      { numRuns: 200 },
    );
  });

  it('serves HTML only to a client that prefers it', () => {
    assert.equal(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true);
    assert.equal(prefersHtml('*/*'), false);
    assert.equal(prefersHtml(undefined), false);
    assert.equal(prefersHtml('application/json, text/html'), false);
  });
});
