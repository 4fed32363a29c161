import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CanopyError } from '../../../src/core/errors.js';
import { stuckReason } from '../../../src/swarm/downloader.js';

describe('downloader stuck reasons', () => {
  it('classifies refusals, full volumes and other failures', () => {
    assert.equal(stuckReason(new CanopyError('ERR_NOT_AUTHORISED', 'no')), 'refused');
    assert.equal(stuckReason(new CanopyError('ERR_STORE_IO', 'full', { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) })), 'no-space');
    assert.equal(stuckReason(new CanopyError('ERR_UNREACHABLE', 'cannot reach 10.0.0.2:7400: ECONNREFUSED')), 'no-peer');
    assert.equal(stuckReason(new CanopyError('ERR_TIMEOUT', 'slow')), 'error');
    assert.equal(stuckReason(undefined), 'error');
  });
});
