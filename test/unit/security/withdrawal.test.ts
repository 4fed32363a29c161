/**
 * Root-signed withdrawals: a valid one round-trips through JSON; any change to a field, a
 * signature by another CA, or an access statement passed off as a withdrawal is refused
 * with ERR_NOT_AUTHORISED; arbitrary input never fails with anything but a coded error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError, isCanopyError } from '../../../src/core/errors.js';
import { signAccess } from '../../../src/security/content-access.js';
import { signWithdrawal, verifyWithdrawal } from '../../../src/security/withdrawal.js';
import { createCaCertificate, generateKeyPair, publicKeyOf } from '../../../src/security/x509.js';

const caKeys = generateKeyPair();
const other = generateKeyPair();
const caPub = publicKeyOf(await createCaCertificate(caKeys, 'test CA'));
const idArb = fc.stringMatching(/^[0-9a-f]{64}$/);
const atArb = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
const reasonArb = fc.string({ maxLength: 200 });
const refused = (e: unknown) => isCanopyError(e, 'ERR_NOT_AUTHORISED');

describe('signed withdrawals', () => {
  it('round-trip and refuse any change to a signed field', () => {
    fc.assert(
      fc.property(idArb, atArb, reasonArb, idArb, reasonArb, (contentId, at, reason, otherId, otherReason) => {
        const w = signWithdrawal({ contentId, at, reason }, caKeys.privateKeyPem);
        assert.deepEqual(verifyWithdrawal(JSON.parse(JSON.stringify(w)), caPub), { contentId, at, reason });
        if (otherId !== contentId) assert.throws(() => verifyWithdrawal({ ...w, contentId: otherId }, caPub), refused);
        if (otherReason !== reason) assert.throws(() => verifyWithdrawal({ ...w, reason: otherReason }, caPub), refused);
        assert.throws(() => verifyWithdrawal({ ...w, at: new Date(Date.parse(at) + 1000).toISOString() }, caPub), refused);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses one signed by another key, an unsigned one, and another statement passed off as one', () => {
    const contentId = 'a'.repeat(64);
    const body = { contentId, at: new Date().toISOString(), reason: 'licence ended' };
    assert.throws(() => verifyWithdrawal(signWithdrawal(body, other.privateKeyPem), caPub), refused);
    assert.throws(() => verifyWithdrawal(body, caPub), refused);
    const access = signAccess(contentId, 'public', caKeys.privateKeyPem);
    assert.throws(() => verifyWithdrawal({ ...body, sig: access.sig }, caPub), refused);
  });

  it('never fails on arbitrary input with anything but a coded error', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        try {
          verifyWithdrawal(v, caPub);
          assert.fail('an arbitrary value verified');
        } catch (err) {
          if (!(err instanceof CanopyError)) throw err;
        }
      }),
      { numRuns: 300 },
    );
  });
});
