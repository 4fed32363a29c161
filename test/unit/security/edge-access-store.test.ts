/**
 * The access modes an edge keeps in memory are a bounded cache over the index (issue 25): a
 * node that has served thousands of contents does not keep one entry for each.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BlockStore } from '../../../src/store/block-store.js';
import { ACCESS_CACHE_MAX, EdgeAccessStore } from '../../../src/security/edge-access-store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('edge access store', () => {
  it('keeps at most ACCESS_CACHE_MAX modes in memory, and still answers from the index past it', () => {
    const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    const access = new EdgeAccessStore(store.index, createPublicKey(newEd25519PrivateKey()));
    const signedId = 'f'.repeat(64);
    store.index.putKv(`access:${signedId}`, 'signed');
    assert.equal(access.mode(signedId), 'signed');
    for (let i = 0; i < ACCESS_CACHE_MAX + 500; i++) assert.equal(access.mode(i.toString(16).padStart(64, '0')), 'public');
    assert.equal(access.cached, ACCESS_CACHE_MAX);
    // The oldest entry left memory, not the index: the answer is the same.
    assert.equal(access.mode(signedId), 'signed');
    assert.equal(access.cached, ACCESS_CACHE_MAX);
    store.close();
  });
});
