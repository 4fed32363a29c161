/**
 * HTTPS certificates from the cluster CA: which names may be signed (property-tested), what
 * the authority issues and to whom, when a cached certificate is served on and when a new
 * one is asked for, and an operator's files that do not belong together.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { Authority } from '../../../src/security/authority.js';
import { initRoot } from '../../../src/security/credentials.js';
import { clusterServerCredentials, HTTPS_RENEW_BEFORE_MS, operatorServerCredentials, serverCertUsable } from '../../../src/security/https-credentials.js';
import { checkServerNames, isServerName, MAX_SERVER_NAMES } from '../../../src/security/server-names.js';
import { generateKeyPair, issueNodeCertificate } from '../../../src/security/x509.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const temp = tempDirs('canopy-https-unit-');

describe('server names', () => {
  it('accepts DNS names and IP addresses, refuses wildcards, URLs and junk', () => {
    for (const ok of ['edge1.example.net', 'localhost', '10.0.0.11', '::1', 'a-b.c1', 'x']) assert.ok(isServerName(ok), ok);
    for (const bad of ['*.example.net', 'http://x', 'a..b', '-a.b', 'a-.b', 'a b', '', 'example.net.', '10.0.0.256', 'a'.repeat(64)]) assert.ok(!isServerName(bad), bad);
    assert.deepEqual(checkServerNames(['B.example', '[::1]', 'b.example']), ['b.example', '::1']);
    assert.throws(() => checkServerNames([]), (e) => isCanopyError(e, 'ERR_CONFIG_INVALID'));
    assert.throws(() => checkServerNames(Array.from({ length: MAX_SERVER_NAMES + 1 }, (_, i) => `n${i}.example`)), /at most 32/);
  });

  it('never throws anything but ERR_CONFIG_INVALID, and what it returns is valid (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.domain(), fc.ipV4(), fc.ipV6()), { maxLength: 40 }), (names) => {
        try {
          const out = checkServerNames(names);
          assert.ok(out.length > 0 && out.length <= MAX_SERVER_NAMES && out.every(isServerName));
          assert.equal(new Set(out).size, out.length);
        } catch (err) {
          assert.ok(isCanopyError(err, 'ERR_CONFIG_INVALID'), String(err));
        }
      }),
    );
  });
});

describe('HTTPS certificates from the cluster CA', async () => {
  const rootDir = temp();
  const root = await initRoot(rootDir);
  const authority = new Authority(rootDir, root);
  const names = ['edge1.example.net', '10.0.0.11'];

  it('issues a server-only certificate for the names of a known node, verified by the CA', async () => {
    const keys = generateKeyPair();
    const pem = await authority.issueServer(root.nodeId, keys.publicKeyPem, names);
    const cert = new X509Certificate(pem);
    assert.ok(cert.verify(new X509Certificate(root.caCertPem).publicKey));
    assert.equal(cert.checkHost('edge1.example.net'), 'edge1.example.net');
    assert.equal(cert.checkIP('10.0.0.11'), '10.0.0.11');
    assert.equal(cert.checkHost('other.example.net'), undefined);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
    assert.ok(serverCertUsable(pem, root.caCertPem, names));
  });

  it('refuses an unknown node, a bad key and bad names', async () => {
    const keys = generateKeyPair();
    await assert.rejects(authority.issueServer('0123456789abcdef', keys.publicKeyPem, names), (e) => isCanopyError(e, 'ERR_NODE_NOT_FOUND'));
    await assert.rejects(authority.issueServer(root.nodeId, 'not a key', names), (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'));
    await assert.rejects(authority.issueServer(root.nodeId, keys.publicKeyPem, ['*.example.net']), (e) => isCanopyError(e, 'ERR_CONFIG_INVALID'));
  });

  it('serves a cached certificate on, and asks again when names change, expiry nears or the CA is another', async () => {
    const dataDir = temp();
    let asked = 0;
    const issue = (publicKeyPem: string, n: string[]) => (asked++, authority.issueServer(root.nodeId, publicKeyPem, n));
    const first = await clusterServerCredentials(dataDir, root.caCertPem, names, issue);
    assert.equal(first.issued, true);
    const again = await clusterServerCredentials(dataDir, root.caCertPem, names, issue);
    assert.deepEqual([again.issued, again.certPem, asked], [false, first.certPem, 1]);
    const more = await clusterServerCredentials(dataDir, root.caCertPem, [...names, 'edge1.example.org'], issue);
    assert.deepEqual([more.issued, asked], [true, 2]);
    assert.notEqual(more.keyPem, first.keyPem, 'a new key with every new certificate');
    assert.ok(!serverCertUsable(more.certPem, root.caCertPem, names, more.validTo - HTTPS_RENEW_BEFORE_MS + 1), 'inside the renewal window');
    const otherCa = await initRoot(temp());
    assert.ok(!serverCertUsable(more.certPem, otherCa.caCertPem, names));
    assert.ok(!serverCertUsable('not a certificate', root.caCertPem, names));
    // A node certificate (no names) never passes as an HTTPS one.
    const node = await issueNodeCertificate({ nodeId: root.nodeId, publicKeyPem: generateKeyPair().publicKeyPem, caCertPem: root.caCertPem, caKeyPem: root.caKeyPem! });
    assert.ok(!serverCertUsable(node, root.caCertPem, ['localhost']));
  });

  it('reads an operator certificate and key, refusing a pair that does not belong together', () => {
    const d = temp();
    const make = (name: string) => execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${d}/${name}.key`, '-out', `${d}/${name}.crt`, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
    make('a');
    make('b');
    assert.match(operatorServerCredentials(`${d}/a.crt`, `${d}/a.key`).certPem, /BEGIN CERTIFICATE/);
    assert.throws(() => operatorServerCredentials(`${d}/a.crt`, `${d}/b.key`), (e) => isCanopyError(e, 'ERR_CONFIG_INVALID') && /does not belong/.test((e as Error).message));
    assert.throws(() => operatorServerCredentials(`${d}/nope.crt`, `${d}/a.key`), /nope\.crt does not exist/);
    writeFileSync(`${d}/junk.crt`, 'junk');
    assert.throws(() => operatorServerCredentials(`${d}/junk.crt`, `${d}/a.key`), (e) => isCanopyError(e, 'ERR_CONFIG_INVALID'));
  });
});
