import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { parseExpires } from '../../../src/core/expiry.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');

describe('parseExpires', () => {
  it('reads durations and ISO times', () => {
    assert.equal(parseExpires('90s', NOW), '2026-11-25T10:01:30.000Z');
    assert.equal(parseExpires('2h', NOW), '2026-11-25T12:00:00.000Z');
    assert.equal(parseExpires('7d', NOW), '2026-12-02T10:00:00.000Z');
    assert.equal(parseExpires('2027-01-01T00:00:00Z', NOW), '2027-01-01T00:00:00.000Z');
  });

  it('never throws anything but ERR_USAGE, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          assert.ok(!Number.isNaN(Date.parse(parseExpires(text, NOW))));
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_USAGE', String(err));
        }
      }),
    );
    assert.throws(() => parseExpires('tomorrow', NOW), /expires/);
  });
});

describe('parseExpires refuses an expiry that is already past', () => {
  it('zero durations and past times are ERR_USAGE', () => {
    for (const text of ['0s', '0d', '2020-01-01T00:00Z', '2026-11-25T10:00:00Z']) {
      assert.throws(() => parseExpires(text, NOW), (err: unknown) => err instanceof CanopyError && err.code === 'ERR_USAGE' && /past|zero/.test(err.message), text);
    }
  });
});
