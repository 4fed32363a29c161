import assert from 'node:assert/strict';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { checkBlocks, contentIdOf, parseManifest, type Manifest } from '../../../src/core/manifest.js';
import { publicKeyText, signManifest, signManifestWithId, verifyManifestSignature } from '../../../src/core/manifest-signature.js';
import { merkleRoot } from '../../../src/core/merkle.js';
import { makeManifest, testKey } from '../../helpers/manifests.js';

const invalid = (e: unknown) => e instanceof CanopyError && e.code === 'ERR_MANIFEST_INVALID';
const roundTrip = (m: unknown) => JSON.parse(JSON.stringify(m)) as Record<string, unknown>;

/** Re-signs a changed manifest, so a test reaches the check behind the signature. */
function resign(m: Record<string, unknown>): Manifest {
  return signManifest(m as unknown as Manifest, testKey);
}

const linear = makeManifest({ size: 250, blockSize: 100, tracks: [{ offset: 0, length: 250 }] });
const holey = makeManifest({ size: 1000, blockSize: 100, tracks: [{ offset: 100, length: 250 }, { offset: 600, length: 300, kind: 'media' }], holes: [{ offset: 0, length: 100 }, { offset: 350, length: 250 }, { offset: 900, length: 100 }] });

describe('manifest v2', () => {
  it('accepts well-formed manifests and checks the id', () => {
    for (const m of [linear, holey]) {
      const id = contentIdOf(m);
      assert.equal(parseManifest(roundTrip(m), id).size, m.size);
      assert.throws(() => parseManifest(resign({ ...roundTrip(m), name: 'b.bin' }), id), invalid);
    }
    assert.equal(linear.linear, true);
    assert.equal(holey.linear, false);
    assert.deepEqual(holey.blocks.map((b) => [b.track, b.index, b.offset, b.length]), [[0, 0, 100, 100], [0, 1, 200, 100], [0, 2, 300, 50], [1, 0, 600, 100], [1, 1, 700, 100], [1, 2, 800, 100]]);
  });

  it('gives the same id whatever the key order, and the id ignores the signature field', () => {
    const reordered = Object.fromEntries(Object.entries(holey).reverse()) as unknown as Manifest;
    assert.equal(contentIdOf(reordered), contentIdOf(holey));
    assert.equal(contentIdOf({ ...holey, signature: 'x' } as Manifest), contentIdOf(holey));
  });

  it('signManifestWithId gives the signed manifest and the content id of those same bytes', () => {
    for (const m of [linear, holey]) {
      const { signature: _s, ...unsigned } = m;
      const { manifest, contentId } = signManifestWithId({ ...unsigned, name: 'other.bin' }, testKey);
      assert.deepEqual(manifest, signManifest({ ...unsigned, name: 'other.bin' }, testKey));
      assert.equal(contentId, contentIdOf(manifest));
      assert.notEqual(contentId, contentIdOf(m));
      assert.ok(verifyManifestSignature(manifest, testKey));
    }
  });

  it('refuses layouts that do not tile the content, wrong block cuts and a wrong Merkle root', () => {
    const m = roundTrip(holey);
    const cases: Record<string, unknown>[] = [
      { ...m, size: 1001 },
      { ...m, holes: (m.holes as unknown[]).slice(1) },
      { ...m, holes: [{ offset: 0, length: 50 }, { offset: 50, length: 50 }, ...(m.holes as unknown[]).slice(1)] },
      { ...m, blocks: [...(m.blocks as unknown[])].reverse() },
      { ...m, blocks: (m.blocks as unknown[]).slice(1) },
      { ...m, blockSize: 125 },
      { ...m, merkleRoot: merkleRoot([]) },
      { ...m, linear: true },
      { ...m, tracks: [...(m.tracks as unknown[])].reverse() },
      { ...m, extra: 1 },
      { ...m, analyser: 'zip' },
      { ...m, name: '../etc/passwd' },
      { ...m, criteria: 'region=' },
    ];
    for (const c of cases) assert.throws(() => parseManifest(resign(c)), invalid, JSON.stringify(c).slice(0, 120));
    assert.throws(() => parseManifest(null), invalid);
  });

  it('rejects a manifest whose signature does not verify', () => {
    const other = newEd25519PrivateKey();
    const m = roundTrip(holey);
    // A changed field with the old signature.
    assert.throws(() => parseManifest({ ...m, criteria: '*' }), (e) => invalid(e) && /signature/.test((e as Error).message));
    // Someone else's key named as publisher, with the original signature.
    assert.throws(() => parseManifest({ ...m, publisher: publicKeyText(other) }), invalid);
    // A signature from another manifest.
    assert.throws(() => parseManifest({ ...m, signature: linear.signature }), invalid);
    // Garbage.
    assert.throws(() => parseManifest({ ...m, signature: 'A'.repeat(86) }), invalid);
    assert.throws(() => parseManifest({ ...m, signature: 'short' }), invalid);
  });

  it('verifyManifestSignature checks against a given key', () => {
    const other = newEd25519PrivateKey();
    assert.equal(verifyManifestSignature(holey, publicKeyText(testKey)), true);
    assert.equal(verifyManifestSignature(holey, testKey), true);
    assert.equal(verifyManifestSignature(holey, publicKeyText(other)), false);
    const byOther = signManifest(holey, other);
    assert.equal(verifyManifestSignature(byOther, publicKeyText(other)), true);
    assert.equal(verifyManifestSignature(byOther, publicKeyText(testKey)), false);
    assert.equal(verifyManifestSignature({ ...holey, size: 1 }, publicKeyText(testKey)), false);
  });

  it('lets a variable cutter use blocks of 1..blockSize that still tile each track', () => {
    const track = { order: 0, kind: 'data' as const, offset: 0, length: 250 };
    const hash = holey.blocks[0]!.hash;
    const blocks = [{ track: 0, index: 0, offset: 0, length: 70, hash }, { track: 0, index: 1, offset: 70, length: 100, hash }, { track: 0, index: 2, offset: 170, length: 80, hash }];
    assert.equal(checkBlocks({ blocks }, [track], 100, false).length, 3);
    assert.throws(() => checkBlocks({ blocks }, [track], 100, true), invalid);
    assert.throws(() => checkBlocks({ blocks: [{ ...blocks[0], length: 101 }, ...blocks.slice(1)] }, [track], 100, false), invalid);
    assert.throws(() => checkBlocks({ blocks: blocks.slice(0, 2) }, [track], 100, false), invalid);
  });

  it('fails only with ERR_MANIFEST_INVALID on mutated input, signed or not', () => {
    const base = roundTrip(holey);
    const paths = fc.oneof(
      fc.constantFrom(...Object.keys(base)).map((k) => [k]),
      fc.tuple(fc.constantFrom('tracks', 'holes', 'blocks'), fc.nat(6), fc.constantFrom('order', 'kind', 'offset', 'length', 'track', 'index', 'hash', 'x')).map(([a, i, k]) => [a, String(i), k]),
    );
    fc.assert(
      fc.property(paths, fc.jsonValue({ maxDepth: 2 }), fc.boolean(), (path, value, sign) => {
        const m = structuredClone(base);
        let at: Record<string, unknown> = m;
        for (const k of path.slice(0, -1)) {
          if (typeof at[k] !== 'object' || at[k] === null) return;
          at = at[k] as Record<string, unknown>;
        }
        at[path[path.length - 1]!] = value;
        try {
          parseManifest(sign ? resign(m) : m);
        } catch (err) {
          assert.ok(invalid(err), String(err));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
