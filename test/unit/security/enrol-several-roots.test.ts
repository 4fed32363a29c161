/**
 * A new node given several root addresses enrols through the first that answers (a standby
 * keeps its peer port closed), over real TLS on loopback; a refused token is not retried
 * elsewhere. Also: a further root given the CA (from a shared database) makes its own node
 * certificate under it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import { createJoinToken } from '../../../src/security/join-token.js';
import { NodeSecurity } from '../../../src/security/node-security.js';
import { fingerprint } from '../../../src/security/x509.js';

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('enrolment with several root addresses', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-enrol-roots-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('skips an address that does not answer, enrols through the next, and does not retry a refusal', async () => {
    const root = await NodeSecurity.prepare({ dataDir: path.join(dir, 'root'), isRoot: true });
    const listener = await root.transport().listen({ host: '127.0.0.1', port: 0 }, (s) => s.destroy());
    try {
      const authority = root.authority!;
      const { token } = createJoinToken({ attrs: { region: 'eu' }, ttlMs: 60_000, caKeyPem: authority.caKey, caFingerprint: authority.caFingerprint });
      const standby = { host: '127.0.0.1', port: await closedPort() };
      const leader = { host: '127.0.0.1', port: listener.port };
      const member = await NodeSecurity.prepare({ dataDir: path.join(dir, 'm1'), isRoot: false, token, join: standby, roots: [standby, leader] });
      assert.deepEqual(member.attrs, { region: 'eu' });
      assert.equal(fingerprint(member.caCertPem), fingerprint(root.caCertPem));
      // The token is used: the root refuses it, and that answer is final (not "try the next root").
      await assert.rejects(
        NodeSecurity.prepare({ dataDir: path.join(dir, 'm2'), isRoot: false, token, join: leader, roots: [leader, standby] }),
        (err: unknown) => isCanopyError(err) && err.code === 'ERR_NOT_AUTHORISED' && /already used/.test(err.message),
      );
      await assert.rejects(
        NodeSecurity.prepare({ dataDir: path.join(dir, 'm3'), isRoot: false, token, join: standby, roots: [standby], enrolRetry: { patienceMs: 0 } }),
        (err: unknown) => isCanopyError(err) && err.code === 'ERR_UNREACHABLE',
      );
    } finally {
      await listener.close();
    }
  });

  it('a further root given the CA signs its own node certificate under it', async () => {
    const first = await NodeSecurity.prepare({ dataDir: path.join(dir, 'r1'), isRoot: true });
    const second = await NodeSecurity.prepare({ dataDir: path.join(dir, 'r2'), isRoot: true, ca: { certPem: first.caCertPem, keyPem: first.authority!.caKey } });
    assert.equal(fingerprint(second.caCertPem), fingerprint(first.caCertPem));
    assert.notEqual(second.nodeId, first.nodeId);
    assert.equal(second.authority!.caFingerprint, first.authority!.caFingerprint);
  });
});
