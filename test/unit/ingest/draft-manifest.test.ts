import { testKey } from '../../helpers/manifests.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { parseManifest } from '../../../src/core/manifest.js';
import { manifestFromDraft, parseDraft } from '../../../src/ingest/draft-manifest.js';

const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

const validDraft = fc
  .record({ size: fc.integer({ min: 0, max: 5_000_000 }), blockSize: fc.integer({ min: 4096, max: 1 << 20 }), name: fc.stringMatching(/^[a-z][a-z0-9._-]{0,30}$/), sha256: hex })
  .chain((d) => fc.array(hex, { minLength: Math.ceil(d.size / d.blockSize), maxLength: Math.ceil(d.size / d.blockSize) }).map((blocks) => ({ ...d, blocks, criteria: 'region = eu', mediaType: 'video/mp4' })));

describe('draft manifests', () => {
  it('turns any valid draft into a manifest that parses under its own id', () => {
    fc.assert(
      fc.property(validDraft, (d) => {
        const { contentId, manifest } = manifestFromDraft(parseDraft(d), 'origin1', testKey);
        assert.equal(manifest.criteria, 'region=eu');
        assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(manifest)), contentId), manifest);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects arbitrary JSON with a CanopyError only', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseDraft(v);
        } catch (err) {
          assert.ok(err instanceof CanopyError && (err.code === 'ERR_USAGE' || err.code === 'ERR_CRITERIA_SYNTAX'), String(err));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects mutations of a valid draft that break it, naming the field', () => {
    const good = { name: 'a.bin', criteria: '*', size: 10_000, blockSize: 4096, mediaType: '', blocks: [sha256Hex('1'), sha256Hex('2'), sha256Hex('3')], sha256: sha256Hex('x') };
    assert.equal(parseDraft(good).mediaType, 'application/octet-stream');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ blocks: good.blocks.slice(1) }, /: draft blocks: must list 3/],
      [{ blocks: [...good.blocks.slice(1), 'ABC'] }, /: draft blocks\[2\]/],
      [{ blockSize: 100 }, /: draft blockSize/],
      [{ size: -1 }, /: draft size/],
      [{ name: 'a/b' }, /: draft name/],
      [{ sha256: 'x' }, /: draft sha256/],
      [{ mediaType: 'nope' }, /: draft mediaType/],
      [{ extra: 1 }, /: draft extra: unknown field/],
    ];
    for (const [patch, re] of cases) assert.throws(() => parseDraft({ ...good, ...patch }), re);
    assert.throws(() => parseDraft({ ...good, criteria: 'region=' }), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_CRITERIA_SYNTAX');
  });
});
