import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { contentIdOf, isExpired, parseManifest, type Manifest } from '../../../src/core/manifest.js';

function manifest(sizes: number[]): Manifest {
  let offset = 0;
  const blocks = sizes.map((length, i) => {
    const b = { offset, length, hash: sha256Hex(String(i)) };
    offset += length;
    return b;
  });
  return { format: 'canopy-manifest', version: 1, name: 'a.bin', size: offset, mediaType: 'application/octet-stream', blockSize: 100, blocks, criteria: 'region=eu', placement: 'full', origin: 'n1', createdAt: '2026-11-25T00:00:00.000Z' };
}

const invalid = (e: unknown) => e instanceof CanopyError && e.code === 'ERR_MANIFEST_INVALID';

describe('manifest', () => {
  it('accepts a well-formed manifest and checks its id', () => {
    const m = manifest([100, 100, 7]);
    const id = contentIdOf(m);
    assert.equal(parseManifest(JSON.parse(JSON.stringify(m)), id).size, 207);
    assert.throws(() => parseManifest({ ...m, name: 'b.bin' }, id), invalid);
  });

  it('gives the same id whatever the key order', () => {
    const m = manifest([100, 5]);
    const reordered = Object.fromEntries(Object.entries(m).reverse()) as unknown as Manifest;
    assert.equal(contentIdOf(reordered), contentIdOf(m));
  });

  it('refuses blocks that do not tile the content, and bad fields', () => {
    const m = manifest([100, 100]);
    assert.throws(() => parseManifest({ ...m, size: 201 }), invalid);
    assert.throws(() => parseManifest({ ...m, blocks: [m.blocks[1], m.blocks[0]] }), invalid);
    assert.throws(() => parseManifest({ ...m, name: '../etc/passwd' }), invalid);
    assert.throws(() => parseManifest({ ...m, criteria: 'region=' }), invalid);
    assert.throws(() => parseManifest({ ...m, extra: 1 }), invalid);
    assert.throws(() => parseManifest(null), invalid);
  });

  it('fails only with ERR_MANIFEST_INVALID on mutated input', () => {
    const base = manifest([100, 50]) as unknown as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(base)), fc.jsonValue({ maxDepth: 2 }), (field, value) => {
        try {
          parseManifest({ ...base, [field]: value });
        } catch (err) {
          assert.ok(invalid(err), String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts expires and chunking in the policy, and checks them', () => {
    const m = manifest([100, 60]);
    const cdc = { ...m, expires: '2027-01-01T00:00:00.000Z', chunking: { method: 'fastcdc', min: 25, avg: 50, max: 100 } };
    assert.equal(parseManifest(JSON.parse(JSON.stringify(cdc)), contentIdOf(cdc as Manifest)).expires, '2027-01-01T00:00:00.000Z');
    assert.equal(isExpired(cdc as Manifest, Date.parse('2026-12-31T23:59:59Z')), false);
    assert.equal(isExpired(cdc as Manifest, Date.parse('2027-01-01T00:00:00Z')), true);
    assert.equal(isExpired(m), false);
    assert.throws(() => parseManifest({ ...m, expires: 'soon' }), invalid);
    assert.throws(() => parseManifest({ ...m, chunking: { method: 'fastcdc', min: 25, avg: 50, max: 99 } }), invalid);
    assert.throws(() => parseManifest({ ...m, chunking: { method: 'rabin' } }), invalid);
    assert.equal(parseManifest({ ...m, chunking: { method: 'fixed' } }).chunking?.method, 'fixed');
  });

  it('fails only with ERR_MANIFEST_INVALID on mutated lifecycle fields', () => {
    const base = manifest([100, 50]) as unknown as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom('expires', 'chunking'), fc.jsonValue({ maxDepth: 2 }), (field, value) => {
        try {
          parseManifest({ ...base, [field]: value });
        } catch (err) {
          assert.ok(invalid(err), String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
