/** What a node believes about peers: newest record wins, replays are ignored, revocations stick across restarts. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import { signAttributeRecord } from '../../../src/security/attribute-record.js';
import { PeerTrust } from '../../../src/security/peer-trust.js';
import { signRevocationList } from '../../../src/security/revocation-list.js';
import { createCaCertificate, generateKeyPair } from '../../../src/security/x509.js';

const ca = generateKeyPair();
const caCert = await createCaCertificate(ca, 'trust test CA');
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

describe('peer trust', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-trust6-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('attests a record only for the node of the certificate', () => {
    const trust = new PeerTrust(caCert);
    const rec = signAttributeRecord(A, { region: 'eu' }, 1, ca.privateKeyPem);
    assert.deepEqual(trust.attest(A, rec).attrs, { region: 'eu' });
    assert.throws(() => trust.attest(B, rec), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
  });

  it('keeps the newest record: an older, more favourable one cannot be replayed', () => {
    const trust = new PeerTrust(caCert, dir);
    const old = signAttributeRecord(A, { region: 'eu' }, 1, ca.privateKeyPem);
    const newer = signAttributeRecord(A, { region: 'us' }, 2, ca.privateKeyPem);
    trust.attest(A, old);
    const applied = trust.apply({ records: [newer] });
    assert.equal(applied.changed.length, 1);
    assert.deepEqual(trust.attest(A, old).attrs, { region: 'us' });
    // A restart does not forget it.
    assert.deepEqual(new PeerTrust(caCert, dir).attest(A, old).attrs, { region: 'us' });
  });

  it('refuses revoked nodes, keeps the list across restarts and ignores older lists', () => {
    const trust = new PeerTrust(caCert, dir);
    const list2 = signRevocationList([B], 10, ca.privateKeyPem);
    assert.deepEqual(trust.apply({ revocations: list2 }).revoked, [B]);
    assert.throws(() => trust.attest(B, signAttributeRecord(B, {}, 11, ca.privateKeyPem)), /revoked/);
    assert.deepEqual(trust.apply({ revocations: signRevocationList([], 9, ca.privateKeyPem) }).revoked, []);
    assert.ok(trust.isRevoked(B));
    assert.ok(new PeerTrust(caCert, dir).isRevoked(B));
  });

  it('refuses a forged update as a whole', () => {
    const impostor = generateKeyPair();
    const trust = new PeerTrust(caCert);
    assert.throws(() => trust.apply({ revocations: signRevocationList([A], 99, impostor.privateKeyPem) }), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
    assert.equal(trust.isRevoked(A), false);
  });
});
