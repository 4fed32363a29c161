import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CanopyError } from '../../../src/core/errors.js';
import { openCaKey, parseStateKey, sealCaKey } from '../../../src/root/state/ca-key-box.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as CanopyError).code;
  }
  return 'none';
};

describe('CA key sealed at rest (AES-256-GCM)', () => {
  it('opens what it sealed, with a fresh IV each time', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (text, k) => {
        const key = Buffer.from(k);
        const a = sealCaKey(text, key);
        assert.equal(openCaKey(a, key), text);
        assert.notEqual(sealCaKey(text, key), a);
      }),
    );
  });

  it('refuses a wrong key and any altered byte with ERR_STATE_KEY', () => {
    const key = randomBytes(32);
    const sealed = sealCaKey('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n', key);
    assert.equal(code(() => openCaKey(sealed, randomBytes(32))), 'ERR_STATE_KEY');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    fc.assert(
      fc.property(fc.nat({ max: raw.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, flip) => {
        const bad = Buffer.from(raw);
        bad[i] = bad[i]! ^ flip;
        assert.equal(code(() => openCaKey(`v1:${bad.toString('base64')}`, key)), 'ERR_STATE_KEY');
      }),
    );
    assert.equal(code(() => openCaKey('v2:xyz', key)), 'ERR_STATE_KEY');
    assert.equal(code(() => openCaKey('v1:AAAA', key)), 'ERR_STATE_KEY');
  });

  it('reads a key file of 64 hex digits and refuses anything else with ERR_CONFIG_INVALID', () => {
    const hex = randomBytes(32).toString('hex');
    assert.deepEqual(parseStateKey(`  ${hex}\n`), Buffer.from(hex, 'hex'));
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        fc.pre(!/^\s*[0-9a-fA-F]{64}\s*$/.test(text));
        assert.equal(code(() => parseStateKey(text)), 'ERR_CONFIG_INVALID');
      }),
    );
  });
});
