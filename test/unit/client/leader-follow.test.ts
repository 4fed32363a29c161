/**
 * How the CLI learns where the leader is: the ERR_NOT_LEADER body a standby answers is
 * rebuilt with its details, and the leader's API URL is read from them defensively (a
 * standby's answer is input: fuzzed), only http(s) origins being followed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { leaderApi } from '../../../src/client/api-client.js';
import { errorFromJSON } from '../../../src/core/errors.js';
import { notLeader } from '../../../src/root/state/leadership.js';

describe('following the leader', () => {
  it('reads the leader API from any details without throwing, giving an http(s) origin or nothing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(undefined), fc.dictionary(fc.string(), fc.jsonValue()), fc.record({ leader: fc.oneof(fc.jsonValue(), fc.record({ api: fc.oneof(fc.string(), fc.webUrl(), fc.jsonValue()) })) })), (details) => {
        const api = leaderApi(details as Record<string, unknown> | undefined);
        if (api !== undefined) {
          const u = new URL(api);
          assert.ok(u.protocol === 'http:' || u.protocol === 'https:');
          assert.equal(u.origin, api);
        }
      }),
    );
  });

  it('keeps the leader named by a standby through the JSON body', () => {
    const body = JSON.parse(JSON.stringify(notLeader({ holder: 'h', api: 'http://10.0.0.2:7401/', peer: '10.0.0.2:7400' }))) as unknown;
    const err = errorFromJSON(body);
    assert.equal(err.code, 'ERR_NOT_LEADER');
    assert.equal(leaderApi(err.details), 'http://10.0.0.2:7401');
    assert.equal(leaderApi(errorFromJSON({ code: 'ERR_NOT_LEADER', message: 'x', details: { leader: { api: 'ftp://x' } } }).details), undefined);
    assert.equal(errorFromJSON({ code: 'ERR_NOT_LEADER', message: 'x', details: [1] }).details, undefined);
  });
});
