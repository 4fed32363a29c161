/**
 * Join tokens and several roots: the root list a root puts in a token (its own peer address
 * and its fellow roots', no wildcard), and a member configured by the token alone (no
 * --join) enrols with and follows every root it names; --join still wins over the token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CanopyError } from '../../../src/core/errors.js';
import { makeConfig } from '../../../src/node/config.js';
import { tokenRootAddresses } from '../../../src/root/token-roots.js';
import { createJoinToken } from '../../../src/security/join-token.js';
import { generateKeyPair } from '../../../src/security/x509.js';

const ca = generateKeyPair();
const mint = (roots?: string[]) => createJoinToken({ attrs: { region: 'eu' }, ttlMs: 60_000, caKeyPem: ca.privateKeyPem, caFingerprint: 'a'.repeat(64), roots }).token;
const standby = (peer: string | undefined) => ({ holder: peer ?? 'x', role: 'standby' as const, seenSecondsAgo: 1, ...(peer ? { peer } : {}) });

describe('root addresses in join tokens', () => {
  it('a root names itself first, then every root seen in the lease rounds, once each, never a wildcard', () => {
    assert.deepEqual(tokenRootAddresses({ host: '10.0.0.1', port: 7000 }, undefined), ['10.0.0.1:7000']);
    const view = { role: 'leader' as const, self: 'a', fence: 3, leader: null, roots: [standby('10.0.0.1:7000'), standby('10.0.0.2:7000'), standby(undefined), standby('0.0.0.0:7000'), standby('[::1]:7001'), standby('garbage')] };
    assert.deepEqual(tokenRootAddresses({ host: '10.0.0.1', port: 7000 }, view), ['10.0.0.1:7000', '10.0.0.2:7000', '[::1]:7001']);
    assert.deepEqual(tokenRootAddresses({ host: '0.0.0.0', port: 7000 }, view), ['10.0.0.1:7000', '10.0.0.2:7000', '[::1]:7001']);
  });

  it('a member given only a token joins and follows every root it carries; --join wins; a token without roots needs --join', () => {
    const c = makeConfig({ dataDir: '/tmp/canopy-token-roots', token: mint(['10.0.0.1:7000', '10.0.0.2:7000']) });
    assert.deepEqual(c.join, { host: '10.0.0.1', port: 7000 });
    assert.deepEqual(c.roots, [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }]);
    const given = makeConfig({ dataDir: '/tmp/canopy-token-roots', join: { host: 'r', port: 1 }, token: mint(['10.0.0.1:7000']) });
    assert.deepEqual(given.roots, [{ host: 'r', port: 1 }]);
    assert.throws(() => makeConfig({ dataDir: '/tmp/canopy-token-roots', token: mint() }), (e) => e instanceof CanopyError && e.code === 'ERR_CONFIG_INVALID' && /--join host:port/.test(e.message));
    assert.throws(() => makeConfig({ dataDir: '/tmp/canopy-token-roots', token: 'cj1.nonsense' }), (e) => e instanceof CanopyError && e.code === 'ERR_USAGE');
  });
});
