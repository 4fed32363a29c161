/**
 * The root-signed statements (attribute records, revocation lists, join tokens) and their
 * parsers: valid ones round-trip, any alteration is refused with ERR_NOT_AUTHORISED, and
 * arbitrary input never crashes a parser with anything but a coded error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError, isCanopyError } from '../../../src/core/errors.js';
import { signAttributeRecord, verifyAttributeRecord } from '../../../src/security/attribute-record.js';
import { createJoinToken, decodeJoinToken, MAX_TOKEN_ROOTS, parseTtl, tokenRoots, verifyJoinToken } from '../../../src/security/join-token.js';
import { formatAddress } from '../../../src/wire/transport.js';
import { signRevocationList, verifyRevocationList } from '../../../src/security/revocation-list.js';
import { createCaCertificate, fingerprint, generateKeyPair, publicKeyOf } from '../../../src/security/x509.js';

const caKeys = generateKeyPair();
const other = generateKeyPair();
const caCert = await createCaCertificate(caKeys, 'test CA');
const otherCert = await createCaCertificate(other, 'impostor CA');
const caPub = publicKeyOf(caCert);
const attrsArb = fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/).filter((k) => k !== 'node'), fc.stringMatching(/^[a-z0-9_.:/-]{0,8}$/), { maxKeys: 5, noNullPrototype: true });
const idArb = fc.stringMatching(/^[0-9a-f]{16}$/);

function codedOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CanopyError)) throw err;
  }
}

describe('attribute records', () => {
  it('round-trip and refuse any change to a signed field', () => {
    fc.assert(
      fc.property(idArb, attrsArb, fc.nat(), attrsArb, (nodeId, attrs, serial, other) => {
        const record = signAttributeRecord(nodeId, attrs, serial, caKeys.privateKeyPem);
        assert.deepEqual(verifyAttributeRecord(JSON.parse(JSON.stringify(record)), caPub).attrs, attrs);
        if (JSON.stringify(other) !== JSON.stringify(attrs)) assert.throws(() => verifyAttributeRecord({ ...record, attrs: other }, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
        assert.throws(() => verifyAttributeRecord({ ...record, serial: serial + 1 }, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a record signed by another CA', () => {
    const forged = signAttributeRecord('0123456789abcdef', { region: 'eu' }, 1, other.privateKeyPem);
    assert.throws(() => verifyAttributeRecord(forged, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
    assert.throws(() => verifyAttributeRecord(forged, publicKeyOf(caCert)), /signature/);
    assert.doesNotThrow(() => verifyAttributeRecord(forged, publicKeyOf(otherCert)));
  });

  it('never fails on arbitrary input with anything but a coded error', () => {
    fc.assert(fc.property(fc.anything(), (v) => codedOnly(() => verifyAttributeRecord(v, caPub))));
    fc.assert(fc.property(fc.anything(), (v) => codedOnly(() => verifyRevocationList(v, caPub))));
  });
});

describe('revocation lists', () => {
  it('round-trip sorted and refuse additions or removals', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { maxLength: 5 }), fc.nat(), idArb, (ids, serial, extra) => {
        const list = signRevocationList(ids, serial, caKeys.privateKeyPem);
        assert.deepEqual(verifyRevocationList(list, caPub).revoked, [...ids].sort());
        if (!ids.includes(extra)) assert.throws(() => verifyRevocationList({ ...list, revoked: [...list.revoked, extra] }, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
        if (ids.length > 0) assert.throws(() => verifyRevocationList({ ...list, revoked: list.revoked.slice(1) }, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
      }),
      { numRuns: 30 },
    );
  });
});

describe('join tokens', () => {
  const fp = fingerprint(caCert);

  it('carry the attributes and the CA fingerprint, and verify until they expire', () => {
    const { token, expiresAt } = createJoinToken({ attrs: { region: 'eu', tier: 'edge' }, ttlMs: 60_000, caKeyPem: caKeys.privateKeyPem, caFingerprint: fp });
    const decoded = decodeJoinToken(token);
    assert.deepEqual(decoded.attrs, { region: 'eu', tier: 'edge' });
    assert.equal(decoded.ca, fp);
    assert.equal(verifyJoinToken(token, caPub).expiresAt, expiresAt);
    assert.throws(() => verifyJoinToken(token, caPub, expiresAt + 1), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED') && /expired/.test(e.message));
  });

  it('refuse a token signed by another CA or with altered attributes', () => {
    const { token } = createJoinToken({ attrs: { region: 'us' }, ttlMs: 60_000, caKeyPem: other.privateKeyPem, caFingerprint: fp });
    assert.throws(() => verifyJoinToken(token, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
    const good = createJoinToken({ attrs: { region: 'us' }, ttlMs: 60_000, caKeyPem: caKeys.privateKeyPem, caFingerprint: fp }).token;
    const body = JSON.parse(Buffer.from(good.slice(4), 'base64url').toString()) as Record<string, unknown>;
    const altered = `cj1.${Buffer.from(JSON.stringify({ ...body, attrs: { region: 'eu' } })).toString('base64url')}`;
    assert.throws(() => verifyJoinToken(altered, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
  });

  it('carry every root address given (property), verified; a token without them (an older root\'s) still reads', () => {
    const hostArb = fc.oneof(fc.ipV4(), fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/), fc.ipV6());
    const addrArb = fc.record({ host: hostArb, port: fc.integer({ min: 1, max: 65535 }) }).map(formatAddress);
    fc.assert(
      fc.property(fc.uniqueArray(addrArb, { maxLength: MAX_TOKEN_ROOTS }), (roots) => {
        const { token } = createJoinToken({ attrs: {}, ttlMs: 60_000, caKeyPem: caKeys.privateKeyPem, caFingerprint: fp, roots });
        const t = verifyJoinToken(token, caPub);
        assert.deepEqual(tokenRoots(t).map(formatAddress), roots);
        assert.equal('roots' in t, roots.length > 0, 'no empty list is written: older parsers see the old shape');
      }),
      { numRuns: 40 },
    );
    const old = createJoinToken({ attrs: { region: 'eu' }, ttlMs: 60_000, caKeyPem: caKeys.privateKeyPem, caFingerprint: fp }).token;
    assert.deepEqual(tokenRoots(verifyJoinToken(old, caPub)), []);
    // The list is signed: a root address swapped in is refused.
    const good = createJoinToken({ attrs: {}, ttlMs: 60_000, caKeyPem: caKeys.privateKeyPem, caFingerprint: fp, roots: ['10.0.0.1:7000'] }).token;
    const body = JSON.parse(Buffer.from(good.slice(4), 'base64url').toString()) as Record<string, unknown>;
    const swapped = `cj1.${Buffer.from(JSON.stringify({ ...body, roots: ['10.6.6.6:7000'] })).toString('base64url')}`;
    assert.throws(() => verifyJoinToken(swapped, caPub), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
  });

  it('decoding a token with arbitrary root lists fails only with coded errors, and accepts only host:port lists', () => {
    const good = createJoinToken({ attrs: {}, ttlMs: 60_000, caKeyPem: caKeys.privateKeyPem, caFingerprint: fp }).token;
    const body = JSON.parse(Buffer.from(good.slice(4), 'base64url').toString()) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(fc.string({ maxLength: 30 }), { maxLength: 20 })), (roots) => {
        const text = `cj1.${Buffer.from(JSON.stringify({ ...body, roots })).toString('base64url')}`;
        let t: ReturnType<typeof decodeJoinToken> | undefined;
        codedOnly(() => (t = decodeJoinToken(text)));
        if (t) assert.equal(tokenRoots(t).length, (roots as unknown[]).length, 'accepted: every item is an address');
      }),
    );
  });

  it('decoding arbitrary text fails only with coded errors', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => codedOnly(() => decodeJoinToken(s))));
    fc.assert(fc.property(fc.jsonValue(), (v) => codedOnly(() => decodeJoinToken(`cj1.${Buffer.from(JSON.stringify(v)).toString('base64url')}`))));
  });

  it('parses TTLs and refuses nonsense', () => {
    assert.equal(parseTtl('1h'), 3_600_000);
    assert.equal(parseTtl('30m'), 1_800_000);
    assert.equal(parseTtl('7d'), 7 * 86_400_000);
    for (const bad of ['', '0s', '1 fortnight', '-1h', '400d', '1.5h']) assert.throws(() => parseTtl(bad), (e) => isCanopyError(e, 'ERR_USAGE'), bad);
    fc.assert(fc.property(fc.string(), (s) => codedOnly(() => parseTtl(s))));
  });
});

describe('signed URLs', () => {
  const id = 'ab'.repeat(32);
  it('verify until expiry, for that content only', async () => {
    const { signUrl, verifyUrl } = await import('../../../src/security/content-access.js');
    const expires = Math.floor(Date.now() / 1000) + 60;
    const q = new URLSearchParams(signUrl(id, expires, caKeys.privateKeyPem));
    assert.doesNotThrow(() => verifyUrl(id, q, caPub));
    assert.throws(() => verifyUrl('cd'.repeat(32), q, caPub), (e) => isCanopyError(e, 'ERR_URL_SIGNATURE'));
    assert.throws(() => verifyUrl(id, q, caPub, (expires + 1) * 1000), (e) => isCanopyError(e, 'ERR_URL_SIGNATURE') && /expired/.test(e.message));
    assert.throws(() => verifyUrl(id, new URLSearchParams(signUrl(id, expires, other.privateKeyPem)), caPub), (e) => isCanopyError(e, 'ERR_URL_SIGNATURE'));
    fc.assert(fc.property(fc.string(), fc.string(), (expiresText, sig) => codedOnly(() => verifyUrl(id, new URLSearchParams({ expires: expiresText, sig }), caPub))));
  });
});
