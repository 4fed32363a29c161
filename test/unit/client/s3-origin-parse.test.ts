/**
 * The pure parts of S3 origins: s3:// URLs (object or prefix, bad buckets and keys refused)
 * and the tree a prefix's keys make (parents as directories, folder markers, keys the tree
 * cannot hold refused naming the key, a version that changes with any key, size or ETag).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { checkFiles } from '../../../src/core/manifest-files.js';
import { layoutTree } from '../../../src/ingest/directory-layout.js';
import { treeOfKeys, treeVersion, type S3Listed } from '../../../src/client/origins/s3-tree.js';
import { parseS3Url, s3Name } from '../../../src/client/origins/s3-url.js';

describe('s3:// URLs', () => {
  it('an object, a prefix, a bucket; names', () => {
    assert.deepEqual(parseS3Url('s3://models/llama/ckpt 1.bin'), { bucket: 'models', key: 'llama/ckpt 1.bin', directory: false });
    assert.deepEqual(parseS3Url('s3://models/llama/'), { bucket: 'models', key: 'llama/', directory: true });
    assert.deepEqual(parseS3Url('s3://models'), { bucket: 'models', key: '', directory: true });
    assert.equal(s3Name(parseS3Url('s3://models/llama/')), 'llama');
    assert.equal(s3Name(parseS3Url('s3://models/a/b.bin')), 'b.bin');
    assert.equal(s3Name(parseS3Url('s3://models/')), 'models');
  });
  it('refuses what is not an S3 location', () => {
    for (const bad of ['s3://', 's3:///key', 's3://a/key', 's3://bad bucket/k', 'http://x/y', `s3://b1/${'k'.repeat(1025)}`, 's3://bucket/a\0b']) {
      assert.throws(() => parseS3Url(bad), (e) => isCanopyError(e, 'ERR_USAGE'), bad);
    }
  });
  it('any key round-trips', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }).filter((k) => !k.includes('\0')), (key) => assert.equal(parseS3Url(`s3://bucket-1/${key}`).key, key)));
  });
});

const listed = (key: string, size = 1, etag = '"e"'): S3Listed => ({ key, size, etag, lastModified: new Date(0) });

describe('a prefix as a tree', () => {
  it('parents become directories, folder markers are kept, the prefix marker is not an entry', () => {
    const t = treeOfKeys('ckpt/', [listed('ckpt/', 0), listed('ckpt/a/b/c.bin'), listed('ckpt/empty/', 0), listed('ckpt/top.json')]);
    assert.deepEqual(t.items.map((i) => `${i.type}:${i.path}`).sort(), ['dir:a', 'dir:a/b', 'dir:empty', 'file:a/b/c.bin', 'file:top.json']);
    assert.equal(t.files.get('a/b/c.bin')?.key, 'ckpt/a/b/c.bin');
  });
  it('refuses keys the tree cannot hold, naming them', () => {
    for (const keys of [['p/a//b'], ['p/../x'], ['p/./x'], ['p/a\\b'], ['p/a', 'p/a/b'], ['p/d/', 'p/d'].map((k) => k), ['p/x/']]) {
      const objs = keys.map((k) => listed(k, k === 'p/x/' ? 5 : k.endsWith('/') ? 0 : 1));
      assert.throws(() => treeOfKeys('p/', objs), (e) => isCanopyError(e, 'ERR_DIRECTORY_ENTRY') && keys.some((k) => e.message.includes(k)), keys.join());
    }
  });
  it('any set of keys either makes a tree the manifest accepts, or is refused with ERR_DIRECTORY_ENTRY', () => {
    const seg = fc.constantFrom('a', 'b', 'é', 'x y', '', '.', '..', 'c\\d');
    const key = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => `pre/${s.join('/')}`);
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 12 }), (keys) => {
        let t;
        try {
          t = treeOfKeys('pre/', keys.map((k) => listed(k, k.endsWith('/') ? 0 : 3)));
        } catch (e) {
          assert.ok(isCanopyError(e, 'ERR_DIRECTORY_ENTRY'), String(e));
          return;
        }
        const layout = layoutTree(t.items, 4096);
        assert.doesNotThrow(() => checkFiles(layout.files, layout.size));
      }),
    );
  });
  it('the version changes with any key, size or ETag, not with the listing order', () => {
    const a = [listed('p/a'), listed('p/b', 2)];
    assert.deepEqual(treeVersion(a), treeVersion([...a].reverse()));
    for (const b of [[listed('p/a'), listed('p/b', 3)], [listed('p/a'), listed('p/b', 2, '"f"')], [listed('p/a'), listed('p/c', 2)], [listed('p/a')]]) {
      assert.notEqual(treeVersion(b).etag, treeVersion(a).etag);
    }
    assert.equal(treeVersion(a).size, 3);
  });
});

describe('a prefix of 10,000 small objects', () => {
  it('becomes a tree of 10,000 files and their directories, laid out on block boundaries', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => listed(`data/shard-${i % 100}/part-${i}.json`, 100 + (i % 900)));
    const t = treeOfKeys('data/', keys);
    assert.equal(t.files.size, 10_000);
    assert.equal(t.items.filter((i) => i.type === 'dir').length, 100);
    const layout = layoutTree(t.items, 4 * 2 ** 20);
    assert.equal(layout.files.filter((f) => f.type === 'file').length, 10_000);
    checkFiles(layout.files, layout.size);
    assert.notDeepEqual(treeVersion(keys), treeVersion([...keys.slice(1), listed('data/shard-0/part-0.json', 101)]));
  });
});
