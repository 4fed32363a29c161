/** The member's admission policy: events in, decisions out (src/node/admission.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { admit, afterAttributeChange, afterPublisherList, judgeAnnouncement, mayServe, mustHold, qualifies, type Self } from '../../../src/node/admission.js';
import { makeManifest } from '../../helpers/manifests.js';

const layout = { size: 100, blockSize: 64, tracks: [{ offset: 0, length: 100 }] };
const eu = makeManifest(layout, undefined, { criteria: 'region=eu' });
const us = makeManifest(layout, undefined, { criteria: 'region=us' });
const member: Self = { nodeId: 'm1', attrs: { region: 'eu' }, prefetch: true };

describe('admission policy', () => {
  it('holds an announcement from an unlisted key, quietly before the first list, and ignores withdrawn ones', () => {
    assert.deepEqual(judgeAnnouncement({ withdrawn: false, known: false, publisherAuthorised: false, haveList: false }), { kind: 'hold', expected: true });
    assert.deepEqual(judgeAnnouncement({ withdrawn: false, known: false, publisherAuthorised: false, haveList: true }), { kind: 'hold', expected: false });
    assert.deepEqual(judgeAnnouncement({ withdrawn: false, known: true, publisherAuthorised: false, haveList: true }), { kind: 'check' }, 'a removed key does not take back what was accepted');
    assert.deepEqual(judgeAnnouncement({ withdrawn: true, known: false, publisherAuthorised: true, haveList: true }), { kind: 'ignore' });
  });

  it('never checks an announcement that is withdrawn, nor admits an unknown one from an unlisted key', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), (withdrawn, known, publisherAuthorised, haveList) => {
        const d = judgeAnnouncement({ withdrawn, known, publisherAuthorised, haveList });
        if (withdrawn) assert.equal(d.kind, 'ignore');
        if (d.kind === 'check') assert.ok(known || publisherAuthorised);
      }),
    );
  });

  it('pins and prefetches what the node qualifies for, only after the catalog sync', () => {
    assert.deepEqual(admit(eu, member, true), { pin: true, qualified: true, prefetch: true });
    assert.deepEqual(admit(eu, member, false), { pin: true, qualified: true, prefetch: false });
    assert.deepEqual(admit(us, member, true), { pin: false, qualified: false, prefetch: false });
  });

  it('an on-demand cache pins only its own contents', () => {
    const cache = { ...member, prefetch: false };
    assert.equal(mustHold(eu, cache), false);
    assert.equal(admit(eu, cache, true).prefetch, false);
    assert.equal(mustHold(makeManifest(layout, undefined, { criteria: 'region=us', origin: 'm1' }), cache), true);
    assert.equal(mustHold(makeManifest(layout, undefined, { criteria: 'region=us', origin: 'local-1' }), { ...cache, localIngestId: 'local-1' }), true);
  });

  it('serves only once synced and only live contents', () => {
    assert.equal(mayServe({ synced: false, live: true }), 'not-synced');
    assert.equal(mayServe({ synced: true, live: false }), 'not-live');
    assert.equal(mayServe({ synced: true, live: true }), 'yes');
  });

  it('an attribute change fetches what now qualifies and evicts what no longer does; withdrawn contents are left alone', () => {
    const moved: Self = { ...member, attrs: { region: 'us' } };
    assert.equal(qualifies(us, moved), true);
    const contents = [
      { contentId: 'a', manifest: eu, live: true },
      { contentId: 'b', manifest: us, live: true },
      { contentId: 'c', manifest: us, live: false },
    ];
    assert.deepEqual(afterAttributeChange(contents, moved), [
      { contentId: 'a', action: 'evict' },
      { contentId: 'b', action: 'prefetch' },
    ]);
  });

  it('a new publisher list re-judges every held announcement', () => {
    assert.deepEqual(afterPublisherList(['x', 'y']).retry, ['x', 'y']);
  });
});
