/** What a member retires after a catalog sync that no longer lists a content (src/node/unlisted-contents.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contentIdOf, type Manifest } from '../../../src/core/manifest.js';
import type { Self } from '../../../src/node/admission.js';
import { unlistedContents } from '../../../src/node/unlisted-contents.js';
import { makeManifest } from '../../helpers/manifests.js';

const layout = { size: 100, blockSize: 64, tracks: [{ offset: 0, length: 100 }] };
const member: Self = { nodeId: 'm1', attrs: { region: 'eu' }, prefetch: true, localIngestId: 'local1' };
const entry = (createdAt: string, extra: Partial<Manifest> = {}) => {
  const manifest = makeManifest(layout, undefined, { createdAt, ...extra });
  return { contentId: contentIdOf(manifest), manifest };
};
const horizon = Date.parse('2026-11-01T00:00:00.000Z');
const old = entry('2026-10-01T00:00:00.000Z', { name: 'build.bin' });
const oldV2 = entry('2026-10-02T00:00:00.000Z', { name: 'build.bin' });
const fresh = entry('2026-11-05T00:00:00.000Z');
const ownIngest = entry('2026-09-01T00:00:00.000Z', { origin: 'local1' });
const all = [old, oldV2, fresh, ownIngest];
const ids = (xs: { contentId: string }[]) => new Set(xs.map((x) => x.contentId));

describe('contents the root no longer lists', () => {
  it('retires an old content the sync lacks, and keeps the versions it still lists', () => {
    // build.bin v1 was withdrawn and its record pruned while the member was away; v2 is live.
    assert.deepEqual(unlistedContents({ live: all, listed: ids([oldV2, fresh]), knownAtJoin: ids(all), horizon, self: member }), [old.contentId]);
  });

  it('keeps a content created after the horizon: its withdrawal, if any, is still in the sync', () => {
    assert.deepEqual(unlistedContents({ live: [fresh], listed: new Set(), knownAtJoin: ids([fresh]), horizon, self: member }), []);
  });

  it('keeps a content announced after the join left (not in the snapshot the sync was built from)', () => {
    assert.deepEqual(unlistedContents({ live: [old], listed: new Set(), knownAtJoin: new Set(), horizon, self: member }), []);
  });

  it("keeps the member's own local ingests, which the root never lists", () => {
    assert.deepEqual(unlistedContents({ live: [ownIngest], listed: new Set(), knownAtJoin: ids([ownIngest]), horizon, self: member }), []);
  });

  it('never retires a listed content, whatever else holds', () => {
    fc.assert(
      fc.property(fc.subarray(all), fc.subarray(all), fc.subarray(all), fc.integer({ min: Date.parse('2026-08-01T00:00:00Z'), max: Date.parse('2026-12-01T00:00:00Z') }), (live, listed, known, h) => {
        const gone = unlistedContents({ live, listed: ids(listed), knownAtJoin: ids(known), horizon: h, self: member });
        for (const id of gone) {
          assert.ok(!ids(listed).has(id) && ids(known).has(id) && ids(live).has(id));
          assert.notEqual(id, ownIngest.contentId);
        }
      }),
    );
  });
});
