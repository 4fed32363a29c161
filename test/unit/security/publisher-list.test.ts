/**
 * The root's signed list of authorised publisher keys: valid lists round-trip, any change
 * (a key added, removed or renamed, the serial bumped) breaks the CA signature, malformed
 * lists are refused with ERR_NOT_AUTHORISED, arbitrary input only ever fails with a coded
 * error; nodes keep the newest list across restarts; the root's set persists, always holds
 * its own key and refuses unauthorised ones with ERR_PUBLISHER_NOT_AUTHORISED.
 */
import assert from 'node:assert/strict';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError, isCanopyError } from '../../../src/core/errors.js';
import { publicKeyText } from '../../../src/core/manifest-signature.js';
import { PeerTrust } from '../../../src/security/peer-trust.js';
import { PublisherAuthority, publishersFile } from '../../../src/root/publisher-authority.js';
import { signPublisherList, verifyPublisherList, type AuthorisedPublisher } from '../../../src/security/publisher-list.js';
import { signStatement } from '../../../src/security/signed-record.js';
import { createCaCertificate, generateKeyPair, publicKeyOf } from '../../../src/security/x509.js';

const ca = generateKeyPair();
const impostor = generateKeyPair();
const caCert = await createCaCertificate(ca, 'publishers test CA');
const caPub = publicKeyOf(caCert);
const newKey = () => publicKeyText(newEd25519PrivateKey());
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64url'));
const entryArb = fc.record({ key: keyArb, name: fc.stringMatching(/^[a-z0-9 ._-]{0,12}$/), addedAt: fc.constant('2026-11-25T12:00:00.000Z') });
const listArb = fc.uniqueArray(entryArb, { selector: (e) => e.key, maxLength: 6 });
const refused = (e: unknown) => isCanopyError(e, 'ERR_NOT_AUTHORISED');

function codedOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CanopyError)) throw err;
  }
}

describe('publisher lists', () => {
  it('round-trip sorted and refuse any added, removed or renamed key and a changed serial', () => {
    fc.assert(
      fc.property(listArb, fc.nat({ max: 2 ** 40 }), entryArb, (entries, serial, extra) => {
        const list = signPublisherList(entries, serial, ca.privateKeyPem);
        const verified = verifyPublisherList(JSON.parse(JSON.stringify(list)), caPub);
        assert.deepEqual(verified.publishers.map((p) => p.key), entries.map((e) => e.key).sort());
        if (!entries.some((e) => e.key === extra.key)) assert.throws(() => verifyPublisherList({ ...list, publishers: [...list.publishers, extra] }, caPub), refused);
        if (entries.length > 0) {
          assert.throws(() => verifyPublisherList({ ...list, publishers: list.publishers.slice(1) }, caPub), refused);
          assert.throws(() => verifyPublisherList({ ...list, publishers: [{ ...list.publishers[0]!, name: `${list.publishers[0]!.name}x` }, ...list.publishers.slice(1)] }, caPub), refused);
        }
        assert.throws(() => verifyPublisherList({ ...list, serial: serial + 1 }, caPub), refused);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a list signed by another CA, and well-signed lists that are malformed', () => {
    assert.throws(() => verifyPublisherList(signPublisherList([{ key: newKey(), name: '', addedAt: 'now' }], 1, impostor.privateKeyPem), caPub), (e) => refused(e) && /signature/.test((e as Error).message));
    const key = newKey();
    const malformed: Record<string, unknown>[] = [
      { format: 'canopy-revocations', serial: 1, publishers: [], issuedAt: 'x' },
      { format: 'canopy-publishers', serial: -1, publishers: [], issuedAt: 'x' },
      { format: 'canopy-publishers', serial: 1, publishers: 'all', issuedAt: 'x' },
      { format: 'canopy-publishers', serial: 1, publishers: [{ key: 'short', name: '', addedAt: 'x' }], issuedAt: 'x' },
      { format: 'canopy-publishers', serial: 1, publishers: [{ key, name: 'a\nforged log line', addedAt: 'x' }], issuedAt: 'x' },
      { format: 'canopy-publishers', serial: 1, publishers: [{ key, name: '', addedAt: 'x' }, { key, name: 'twice', addedAt: 'x' }], issuedAt: 'x' },
    ];
    for (const body of malformed) assert.throws(() => verifyPublisherList(signStatement(body, ca.privateKeyPem), caPub), refused, JSON.stringify(body));
  });

  it('never fails on arbitrary input with anything but a coded error', () => {
    fc.assert(fc.property(fc.anything(), (v) => codedOnly(() => verifyPublisherList(v, caPub))));
    // Well-signed bodies of arbitrary shape reach the field checks.
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('format', 'serial', 'publishers', 'issuedAt', 'x'), fc.jsonValue(), { noNullPrototype: true }), (body) =>
        codedOnly(() => verifyPublisherList(signStatement({ format: 'canopy-publishers', ...body }, ca.privateKeyPem), caPub)),
      ),
      { numRuns: 60 },
    );
  });
});

describe('nodes keep the newest publisher list', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-publishers-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('adopts newer lists only, across restarts, and refuses a forged one as a whole', () => {
    const a = newKey();
    const b = newKey();
    const trust = new PeerTrust(caCert, dir);
    assert.equal(trust.isAuthorisedPublisher(a), false, 'no list: no publisher');
    const entry = (key: string): AuthorisedPublisher => ({ key, name: '', addedAt: 'now' });
    assert.equal(trust.apply({ publishers: signPublisherList([entry(a), entry(b)], 5, ca.privateKeyPem) }).publishers, true);
    assert.ok(trust.isAuthorisedPublisher(a) && trust.isAuthorisedPublisher(b));
    // An older list (a replay from before b was added, say) changes nothing.
    assert.equal(trust.apply({ publishers: signPublisherList([entry(a)], 4, ca.privateKeyPem) }).publishers, false);
    assert.ok(trust.isAuthorisedPublisher(b));
    // A newer list can remove a key.
    trust.apply({ publishers: signPublisherList([entry(a)], 6, ca.privateKeyPem) });
    assert.equal(trust.isAuthorisedPublisher(b), false);
    assert.throws(() => trust.apply({ publishers: signPublisherList([entry(a), entry(b)], 7, impostor.privateKeyPem) }), refused);
    assert.equal(trust.isAuthorisedPublisher(b), false);
    const restarted = new PeerTrust(caCert, dir);
    assert.ok(restarted.isAuthorisedPublisher(a));
    assert.equal(restarted.isAuthorisedPublisher(b), false);
    assert.equal(restarted.publishers()?.serial, 6);
  });
});

describe("the root's authorised set", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-publishers-root-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('always holds its own key, persists changes, signs a newer list each time and refuses unknown keys', () => {
    const own = newKey();
    const other = newKey();
    const root = new PublisherAuthority(publishersFile(dir), ca.privateKeyPem, own);
    assert.ok(root.isAuthorised(own));
    assert.throws(() => root.require(other), (e) => isCanopyError(e, 'ERR_PUBLISHER_NOT_AUTHORISED') && e.message.includes(other));
    const first = root.list().serial;
    assert.equal(root.add(other, 'ci'), true);
    assert.equal(root.add(other, 'ci'), false, 'adding again changes nothing');
    assert.ok(root.list().serial > first);
    assert.deepEqual(verifyPublisherList(root.list(), caPub).publishers.map((p) => p.key).sort(), [own, other].sort());
    const reopened = new PublisherAuthority(publishersFile(dir), ca.privateKeyPem, own);
    assert.ok(reopened.isAuthorised(other));
    reopened.remove(other);
    assert.throws(() => reopened.require(other), (e) => isCanopyError(e, 'ERR_PUBLISHER_NOT_AUTHORISED'));
    assert.throws(() => reopened.remove(own), (e) => isCanopyError(e, 'ERR_USAGE'));
    assert.throws(() => reopened.remove(other), (e) => isCanopyError(e, 'ERR_PUBLISHER_NOT_FOUND'));
    assert.throws(() => reopened.add('not-a-key'), (e) => isCanopyError(e, 'ERR_USAGE'));
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (key) => codedOnly(() => reopened.require(key))));
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (name) => codedOnly(() => reopened.add(other, name))), { numRuns: 30 });
  });
});
