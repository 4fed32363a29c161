/** Image references, repository names, tags and digests: examples and properties (fast-check). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { formatImageReference, isDigest, isRepository, isTag, parseImageReference, splitDistributionPath } from '../../../src/registry/reference.js';

const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,8}){0,2}$/);
const repository = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('/')).filter((r) => r.length <= 255);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);
const host = fc.tuple(fc.constantFrom('registry.example', '127.0.0.1', 'localhost', 'r-1.eu.internal', '[::1]'), fc.option(fc.integer({ min: 1, max: 65535 }))).map(([h, p]) => (p === null ? h : `${h}:${p}`));

test('examples parse as distribution/reference reads them', () => {
  assert.deepEqual(parseImageReference('oci://127.0.0.1:5000/team/app:v1'), { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1' });
  assert.deepEqual(parseImageReference('registry.example/library/alpine'), { registry: 'registry.example', repository: 'library/alpine', tag: 'latest' });
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseImageReference(`oci://[::1]:5000/a/b@${d}`), { registry: '[::1]:5000', repository: 'a/b', digest: d });
  assert.deepEqual(parseImageReference(`oci://r.io/a:t@${d}`), { registry: 'r.io', repository: 'a', tag: 't', digest: d });
  for (const bad of ['oci://app:v1', 'oci:///app', 'oci://r.io/App:v1', 'oci://r.io/a//b', 'oci://r.io/a/:v1', 'oci://r.io/a:-x', `oci://r.io/a@sha256:${'A'.repeat(64)}`, 'oci://r.io/a@md5:00', 'oci://r.io:99999/a', 'oci://r_io/a', 'oci://r.io/a b', `oci://r.io/${'a'.repeat(256)}`]) {
    assert.throws(() => parseImageReference(bad), (err: Error) => isCanopyError(err, 'ERR_OCI_REFERENCE'), bad);
  }
});

test('property: a formatted reference parses back to itself', () => {
  fc.assert(
    fc.property(host, repository, fc.option(tag), fc.option(digest), (registry, repo, t, d) => {
      const ref = { registry, repository: repo, ...(t !== null ? { tag: t } : {}), ...(d !== null ? { digest: d } : {}) };
      const parsed = parseImageReference(`oci://${formatImageReference(ref)}`);
      assert.deepEqual(parsed, t === null && d === null ? { ...ref, tag: 'latest' } : ref);
    }),
  );
});

test('property: any string either parses to valid parts or fails with ERR_OCI_REFERENCE', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.tuple(host, fc.string({ maxLength: 40 })).map(([h, s]) => `oci://${h}/${s}`)), (text) => {
      try {
        const r = parseImageReference(text);
        assert.ok(isRepository(r.repository));
        if (r.tag !== undefined) assert.ok(isTag(r.tag));
        if (r.digest !== undefined) assert.ok(isDigest(r.digest));
      } catch (err) {
        assert.ok(isCanopyError(err, 'ERR_OCI_REFERENCE'), String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('Distribution paths split from the right, so names may hold slashes', () => {
  assert.deepEqual(splitDistributionPath('/v2/'), { kind: 'base' });
  assert.deepEqual(splitDistributionPath('/v2/a/b/c/manifests/v1'), { kind: 'manifests', repository: 'a/b/c', reference: 'v1' });
  assert.deepEqual(splitDistributionPath('/v2/a/blobs/manifests/blobs/sha256:x'), { kind: 'blobs', repository: 'a/blobs/manifests', reference: 'sha256:x' });
  assert.deepEqual(splitDistributionPath('/v2/a/tags/list'), { kind: 'other' });
  fc.assert(
    fc.property(repository, fc.constantFrom('manifests', 'blobs'), tag, (repo, kind, ref) => {
      assert.deepEqual(splitDistributionPath(`/v2/${repo}/${kind}/${ref}`), { kind, repository: repo, reference: ref });
    }),
  );
});
