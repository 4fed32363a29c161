/** What a node believes about peers: newest record wins, replays are ignored, revocations stick across restarts. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isCanopyError } from '../../../src/core/errors.js';
import { signAttributeRecord } from '../../../src/security/attribute-record.js';
import { PeerTrust, SAVE_EVERY_MS } from '../../../src/security/peer-trust.js';
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
  it('verifies a saved record at its first use: a forged one in the file is not believed, a genuine one still stops replays', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'canopy-trust-lazy-'));
    try {
      const impostor = generateKeyPair();
      const genuine = signAttributeRecord(A, { region: 'us' }, 5, ca.privateKeyPem);
      const forged = signAttributeRecord(B, { region: 'admin' }, 99, impostor.privateKeyPem);
      mkdirSync(path.join(d, 'security'), { recursive: true });
      writeFileSync(path.join(d, 'security', 'trust.json'), JSON.stringify({ records: { [A]: genuine, [B]: forged }, revocations: null }));
      // Loading checks no record signature (10,000 of them took ~2 s with the leader lease held).
      const trust = new PeerTrust(caCert, d);
      assert.deepEqual(trust.attest(A, signAttributeRecord(A, { region: 'eu' }, 1, ca.privateKeyPem)).attrs, { region: 'us' }, 'the older record is not replayed');
      const real = signAttributeRecord(B, { region: 'eu' }, 1, ca.privateKeyPem);
      assert.deepEqual(trust.attest(B, real), real, 'the forged record with a higher serial does not shadow the real one');
      assert.deepEqual(trust.apply({ records: [signAttributeRecord(B, { region: 'us' }, 2, ca.privateKeyPem)] }).changed.length, 1);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('saves the records of nodes met for the first time together, what must not be forgotten at once, and always a whole file', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'canopy-trust-batch-'));
    const file = path.join(d, 'security', 'trust.json');
    const saved = () => (existsSync(file) ? Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { records: object }).records) : []);
    try {
      const trust = new PeerTrust(caCert, d);
      const ids = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(16, 'c'));
      for (const id of ids) trust.attest(id, signAttributeRecord(id, {}, 1, ca.privateKeyPem));
      assert.deepEqual(saved(), [], 'first records wait for the batch');
      await sleep(SAVE_EVERY_MS + 300);
      assert.deepEqual(saved().sort(), [...ids].sort(), 'one write holds them all');
      // A record replacing a known one is saved at once (a restart must not allow the older one back).
      trust.attest(ids[0]!, signAttributeRecord(ids[0]!, { region: 'us' }, 2, ca.privateKeyPem));
      assert.deepEqual(new PeerTrust(caCert, d).attest(ids[0]!, signAttributeRecord(ids[0]!, {}, 1, ca.privateKeyPem)).serial, 2);
      // So is a revocation, with the first records still waiting.
      trust.attest(A, signAttributeRecord(A, {}, 1, ca.privateKeyPem));
      trust.apply({ revocations: signRevocationList([ids[1]!], 1, ca.privateKeyPem) });
      assert.ok(new PeerTrust(caCert, d).isRevoked(ids[1]!));
      assert.ok(saved().includes(A), 'the waiting record went with it');
      trust.attest(B, signAttributeRecord(B, {}, 1, ca.privateKeyPem));
      trust.flush();
      assert.ok(saved().includes(B));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
