/** A node's security on disk: the root creates its CA once, renewal checks what the root returns. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import { initRoot, loadCredentials } from '../../../src/security/credentials.js';
import { NodeSecurity } from '../../../src/security/node-security.js';
import { generateKeyPair, issueNodeCertificate } from '../../../src/security/x509.js';

describe('node security', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-nodesec6-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the CA on the root’s first start, keeps it after, and refuses a second init', async () => {
    const first = await NodeSecurity.prepare({ dataDir: dir, isRoot: true, rootAttrs: { region: 'eu' } });
    const again = await NodeSecurity.prepare({ dataDir: dir, isRoot: true, rootAttrs: { region: 'eu' } });
    assert.equal(again.nodeId, first.nodeId);
    assert.equal(again.caCertPem, first.caCertPem);
    await assert.rejects(initRoot(dir), (e) => isCanopyError(e, 'ERR_CONFIG_INVALID'));
    const changed = await NodeSecurity.prepare({ dataDir: dir, isRoot: true, rootAttrs: { region: 'us' } });
    assert.deepEqual(changed.attrs, { region: 'us' });
    assert.ok(changed.record.serial > first.record.serial);
  });

  it('a node without credentials needs a token', async () => {
    await assert.rejects(NodeSecurity.prepare({ dataDir: path.join(dir, 'n'), isRoot: false, join: { host: '127.0.0.1', port: 9 } }), (e) => isCanopyError(e, 'ERR_CONFIG_INVALID') && /--token/.test(e.message));
  });

  it('renews only into a certificate for this node and the key it generated', async () => {
    const sec = await NodeSecurity.prepare({ dataDir: dir, isRoot: true });
    assert.equal(sec.needsRenewal(), false);
    assert.equal(sec.needsRenewal(Date.now() + 80 * 86_400_000), true);
    const creds = loadCredentials(dir)!;
    const wrongKey = generateKeyPair();
    await assert.rejects(
      sec.renew(() => issueNodeCertificate({ nodeId: sec.nodeId, publicKeyPem: wrongKey.publicKeyPem, caCertPem: creds.caCertPem, caKeyPem: creds.caKeyPem! })),
      (e) => isCanopyError(e, 'ERR_NOT_AUTHORISED'),
    );
    await sec.renew((pk) => sec.authority!.renew(sec.nodeId, pk));
    assert.notEqual(loadCredentials(dir)!.certPem, creds.certPem);
    assert.equal(loadCredentials(dir)!.nodeId, sec.nodeId);
  });
});
