import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatSeconds } from '../../../web/src/api.js';

describe('dashboard formatting', () => {
  it('writes an ETA in seconds, then minutes, then hours', () => {
    assert.equal(formatSeconds(0), '0 s');
    assert.equal(formatSeconds(119), '119 s');
    assert.equal(formatSeconds(120), '2 min');
    assert.equal(formatSeconds(7199), '120 min');
    assert.equal(formatSeconds(7200), '2.0 h');
    assert.equal(formatSeconds(9000), '2.5 h');
  });

  it('writes bytes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(2 * 2 ** 20), '2.0 MiB');
  });
});
