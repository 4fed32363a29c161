/** The image index (an image content's header track): strict parsing, fuzzed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { imageContentName, parseImageIndex } from '../../../src/registry/image-index.js';
import { isValidContentName } from '../../../src/core/manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const good = {
  format: 'canopy-oci-image',
  version: 1,
  registry: '127.0.0.1:5000',
  repository: 'team/app',
  tag: 'v1',
  digest: d('a'),
  blobs: [
    { digest: d('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 300, offset: 0, manifest: true },
    { digest: d('b'), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 1000, offset: 300, manifest: false },
  ],
};

test('a good index parses; a content name is made from it', () => {
  assert.deepEqual(parseImageIndex(Buffer.from(JSON.stringify(good)), 2000), good);
  assert.equal(imageContentName(good), '127.0.0.1:5000~team~app:v1');
  assert.ok(isValidContentName(imageContentName({ ...good, tag: undefined })));
});

test('a pulled-through blob is an untagged index of that one blob; tagged, or with other blobs, it must name a manifest', () => {
  const blob = { format: 'canopy-oci-image', version: 1, registry: '127.0.0.1:5000', repository: 'team/app', digest: d('b'), blobs: [{ ...good.blobs[1], offset: 0 }] };
  assert.deepEqual(parseImageIndex(Buffer.from(JSON.stringify(blob)), 2000), blob);
  for (const b of [{ ...blob, tag: 'v1' }, { ...blob, blobs: [...blob.blobs, { ...good.blobs[0], offset: 1000 }] }]) {
    assert.throws(() => parseImageIndex(Buffer.from(JSON.stringify(b)), 2000), (err: Error) => isCanopyError(err, 'ERR_OCI_MANIFEST_INVALID'));
  }
});

test('blobs outside the content, duplicates, unknown keys and a top digest that is no manifest are refused', () => {
  const bad = [
    { ...good, blobs: [good.blobs[0], { ...good.blobs[1], offset: 1500 }] },
    { ...good, blobs: [good.blobs[0], good.blobs[0]] },
    { ...good, extra: 1 },
    { ...good, digest: d('b') },
    { ...good, repository: 'Team/App' },
    { ...good, blobs: [] },
  ];
  for (const b of bad) assert.throws(() => parseImageIndex(Buffer.from(JSON.stringify(b)), 2000), (err: Error) => isCanopyError(err, 'ERR_OCI_MANIFEST_INVALID'));
});

test('property: any bytes either parse or fail with ERR_OCI_MANIFEST_INVALID', () => {
  const mutated = fc.tuple(fc.constantFrom(...Object.keys(good), 'blobs.0.size', 'blobs.1.digest'), fc.jsonValue()).map(([key, value]) => {
    const copy = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    const path = key.split('.');
    let at: Record<string, unknown> = copy;
    for (const p of path.slice(0, -1)) at = at[p] as Record<string, unknown>;
    at[path[path.length - 1]!] = value;
    return JSON.stringify(copy);
  });
  fc.assert(
    fc.property(fc.oneof(fc.string(), mutated), (text) => {
      try {
        parseImageIndex(Buffer.from(text), 2000);
      } catch (err) {
        assert.ok(isCanopyError(err, 'ERR_OCI_MANIFEST_INVALID'), String(err));
      }
    }),
    { numRuns: 1000 },
  );
});
