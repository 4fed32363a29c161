/** The lifecycle fields of a v2 manifest: expires, chunking (content-defined blocks), prefetch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { contentIdOf, isExpired, parseManifest, type Manifest } from '../../../src/core/manifest.js';
import { signManifest } from '../../../src/core/manifest-signature.js';
import { merkleRoot } from '../../../src/core/merkle.js';
import { makeManifest, testKey } from '../../helpers/manifests.js';

const invalid = (e: unknown) => e instanceof CanopyError && e.code === 'ERR_MANIFEST_INVALID';
const roundTrip = (m: unknown) => JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
const resign = (m: Record<string, unknown>) => signManifest(m as unknown as Manifest, testKey);

/** A one-track manifest whose blocks have the given (variable) lengths, as FastCDC cuts them. */
function cdcManifest(lengths: number[], extra: Record<string, unknown> = {}): Manifest {
  const base = roundTrip(makeManifest({ size: lengths.reduce((s, n) => s + n, 0), blockSize: 100, tracks: [{ offset: 0, length: lengths.reduce((s, n) => s + n, 0) }] }));
  let offset = 0;
  const blocks = lengths.map((length, index) => {
    const b = { track: 0, index, offset, length, hash: sha256Hex(`${offset}`) };
    offset += length;
    return b;
  });
  return resign({ ...base, blocks, merkleRoot: merkleRoot(blocks.map((b) => b.hash)), chunking: { method: 'fastcdc', min: 25, avg: 50, max: 100 }, ...extra });
}

describe('manifest lifecycle fields', () => {
  it('accepts variable block lengths only with content-defined chunking', () => {
    const m = cdcManifest([60, 100, 7, 33]);
    assert.equal(parseManifest(roundTrip(m), contentIdOf(m)).chunking?.method, 'fastcdc');
    const { chunking: _drop, ...fixed } = roundTrip(m);
    assert.throws(() => parseManifest(resign(fixed)), invalid);
    assert.throws(() => parseManifest(roundTrip(cdcManifest([60, 101]))), invalid);
    assert.throws(() => parseManifest(resign({ ...roundTrip(m), chunking: { method: 'fastcdc', min: 25, avg: 50, max: 99 } })), invalid);
    assert.throws(() => parseManifest(resign({ ...roundTrip(m), chunking: { method: 'rabin' } })), invalid);
  });

  it('carries expires and a prefetch policy, and checks them', () => {
    const m = cdcManifest([50, 50], { expires: '2027-01-01T00:00:00.000Z', prefetch: { window: '22:00-06:00', rate: 1000 } });
    const parsed = parseManifest(roundTrip(m), contentIdOf(m));
    assert.equal(isExpired(parsed, Date.parse('2026-12-31T23:59:59Z')), false);
    assert.equal(isExpired(parsed, Date.parse('2027-01-01T00:00:00Z')), true);
    for (const bad of [{ expires: 'soon' }, { prefetch: { window: '22:00-22:00' } }, { prefetch: { rate: 0 } }, { prefetch: { at: 1 } }]) {
      assert.throws(() => parseManifest(resign({ ...roundTrip(m), ...bad })), invalid, JSON.stringify(bad));
    }
  });

  it('fails only with ERR_MANIFEST_INVALID on mutated lifecycle fields', () => {
    const base = roundTrip(cdcManifest([60, 40]));
    fc.assert(
      fc.property(fc.constantFrom('expires', 'chunking', 'prefetch'), fc.jsonValue({ maxDepth: 2 }), (field, value) => {
        try {
          parseManifest(resign({ ...base, [field]: value }));
        } catch (err) {
          assert.ok(invalid(err), String(err));
        }
      }),
      { numRuns: 500 },
    );
  });
});
