/**
 * The parts of the leader lease a root reads from others: the addresses field of the lease
 * row (written by another root, so parsed defensively: fuzzed) and the ERR_NOT_LEADER error a
 * standby answers with.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { notLeader, parseAddressField } from '../../../src/root/state/leadership.js';
import { leaseSettings } from '../../../src/root/state/lease-settings.js';

describe('leader lease views', () => {
  it('parses any addresses field without throwing, keeping only string peer and api', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        const a = parseAddressField(text);
        assert.ok(Object.keys(a).every((k) => k === 'peer' || k === 'api'));
        for (const v of Object.values(a)) assert.equal(typeof v, 'string');
      }),
    );
    assert.deepEqual(parseAddressField('{"peer":"10.0.0.2:7400","api":"http://10.0.0.2:7401","x":1}'), { peer: '10.0.0.2:7400', api: 'http://10.0.0.2:7401' });
  });

  it('names the leader in ERR_NOT_LEADER, or says none leads', () => {
    const e = notLeader({ holder: 'h', api: 'http://b:7401', peer: 'b:7400' });
    assert.equal(e.code, 'ERR_NOT_LEADER');
    assert.equal(e.status, 503);
    assert.match(e.message, /the leader is http:\/\/b:7401/);
    assert.deepEqual(e.toJSON().details, { leader: { holder: 'h', api: 'http://b:7401', peer: 'b:7400' } });
    assert.match(notLeader(null).message, /no root leads right now/);
  });

  it('advertises configured addresses before the node listens, IPv6 in brackets', () => {
    const s = leaseSettings({ host: '::1', apiHost: '127.0.0.1', peerPort: 7400, apiPort: 7401 }, () => undefined, () => undefined);
    assert.deepEqual(s.addresses, { peer: '[::1]:7400', api: 'http://127.0.0.1:7401' });
    assert.deepEqual(s.api, { host: '127.0.0.1', port: 7401 });
  });
});
