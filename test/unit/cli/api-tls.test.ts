/**
 * The CLI's HTTPS check: with --ca only that CA is trusted, an unverified server gets no
 * request at all (so never a token), and the CA option's own mistakes are named.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../../../src/client/api-client.js';
import { apiDispatcher, JOINED_CA_FILE, unverifiedServer } from '../../../src/client/api-tls.js';
import { isCanopyError } from '../../../src/core/errors.js';
import { Authority } from '../../../src/security/authority.js';
import { initRoot } from '../../../src/security/credentials.js';
import { generateKeyPair } from '../../../src/security/x509.js';

describe('the CLI and a node HTTPS API', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-api-tls-'));
  let server: https.Server;
  let base: string;
  const seen: (string | undefined)[] = [];
  const caFile = path.join(dir, 'ca.crt');
  const otherCaFile = path.join(dir, 'other-ca.crt');

  before(async () => {
    const root = await initRoot(path.join(dir, 'root'));
    const keys = generateKeyPair();
    const cert = await new Authority(path.join(dir, 'root'), root).issueServer(root.nodeId, keys.publicKeyPem, ['localhost', '127.0.0.1']);
    writeFileSync(caFile, root.caCertPem);
    writeFileSync(otherCaFile, (await initRoot(path.join(dir, 'other'))).caCertPem);
    server = https.createServer({ key: keys.privateKeyPem, cert }, (req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    delete process.env.CANOPY_CA_FILE;
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks to a server the given CA issued, sending the token', async () => {
    process.env.CANOPY_CA_FILE = caFile;
    assert.deepEqual(await new ApiClient(base, 'cat1.secret').get('/healthz'), { ok: true });
    assert.deepEqual(seen, ['Bearer cat1.secret']);
  });

  it('sends nothing to a server it cannot verify, and says how to fix it', async () => {
    seen.length = 0;
    const cwd = process.cwd();
    process.chdir(mkdtempSync(path.join(dir, 'nowhere-')));
    after(() => process.chdir(cwd));
    for (const ca of [otherCaFile, undefined]) {
      if (ca) process.env.CANOPY_CA_FILE = ca;
      else delete process.env.CANOPY_CA_FILE;
      await assert.rejects(new ApiClient(base, 'cat1.secret').get('/healthz'), (e) => isCanopyError(e, 'ERR_TLS_UNVERIFIED') && (ca ? /issued by the CA in/ : /--ca FILE/).test((e as Error).message));
    }
    // A name the certificate does not hold.
    process.env.CANOPY_CA_FILE = caFile;
    await assert.rejects(new ApiClient(base.replace('127.0.0.1', '127.0.0.2'), 'cat1.secret').get('/healthz'), (e) => isCanopyError(e, 'ERR_TLS_UNVERIFIED') || isCanopyError(e, 'ERR_UNREACHABLE'));
    assert.deepEqual(seen, [], 'no request reached the server');
  });

  it('trusts, without a flag, the CA the node in the default data directory joined with', async () => {
    const cwd = process.cwd();
    const host = mkdtempSync(path.join(dir, 'node-host-'));
    mkdirSync(path.join(host, '.canopy', 'node', 'security'), { recursive: true });
    writeFileSync(path.join(host, JOINED_CA_FILE), readFileSync(caFile));
    delete process.env.CANOPY_CA_FILE;
    process.chdir(host);
    try {
      seen.length = 0;
      assert.deepEqual(await new ApiClient(base, 'cat1.secret').get('/healthz'), { ok: true });
      assert.deepEqual(seen, ['Bearer cat1.secret']);
      // An explicit --ca still wins, and is then the only CA trusted.
      process.env.CANOPY_CA_FILE = otherCaFile;
      await assert.rejects(new ApiClient(base, 'cat1.secret').get('/healthz'), (e) => isCanopyError(e, 'ERR_TLS_UNVERIFIED'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('names a missing or wrong CA file, and needs none for http://', () => {
    assert.equal(apiDispatcher(new URL('http://127.0.0.1:7401'), '/nonexistent'), undefined);
    assert.throws(() => apiDispatcher(new URL(base), path.join(dir, 'nope.crt')), (e) => isCanopyError(e, 'ERR_FILE_NOT_FOUND') && /nope\.crt: ENOENT/.test((e as Error).message));
    writeFileSync(path.join(dir, 'junk.crt'), 'junk');
    assert.throws(() => apiDispatcher(new URL(base), path.join(dir, 'junk.crt')), (e) => isCanopyError(e, 'ERR_USAGE'));
    assert.equal(unverifiedServer(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), base), undefined);
    assert.equal(unverifiedServer(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), base)?.code, 'ERR_TLS_UNVERIFIED');
  });
});
