/**
 * The node's HTTPS setup on a real HTTPS server on loopback: the operator's certificate is
 * served, replaced files are served after a refresh (what SIGHUP does), a broken pair keeps
 * the current one; on a root the cluster CA issues a certificate for the node's names.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { createWebServer } from '../../../src/http/web-server.js';
import { makeConfig, NO_HTTPS } from '../../../src/node/config.js';
import { HttpsSetup, serverNames } from '../../../src/node/https-setup.js';
import { NodeSecurity } from '../../../src/security/node-security.js';
import type { PeerPool } from '../../../src/wire/peer-pool.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-https-setup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger({ test: 'https-setup' }, 'error');
/** The root never asks a pool: it signs its own certificate. */
const noPool = {} as PeerPool;

function makePair(name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** The certificate a new TLS connection is shown, verified against `ca` for `localhost`. */
async function served(port: number, ca: string): Promise<X509Certificate> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
  await once(socket, 'secureConnect');
  const der = socket.getPeerX509Certificate()!;
  socket.destroy();
  return der;
}

describe('HTTPS setup', () => {
  it('serves the operator certificate, a replaced one after refresh, and keeps it when the new pair is broken', async () => {
    const a = makePair('a');
    const security = await NodeSecurity.prepare({ dataDir: path.join(dir, 'root-a'), isRoot: true });
    const config = makeConfig({ dataDir: path.join(dir, 'root-a'), isRoot: true, https: { ...NO_HTTPS, api: true, cert: a.cert, key: a.key } });
    const server = createWebServer(true, {}, (_req, res) => res.end('ok'));
    const setup = new HttpsSetup({ config, security, log, servers: [server], pool: noPool });
    await setup.start();
    const port = await listen(server);
    try {
      assert.equal((await served(port, readFileSync(a.cert, 'utf8'))).subject, 'CN=a');
      const b = makePair('b');
      execFileSync('cp', [b.cert, a.cert]);
      execFileSync('cp', [b.key, a.key]);
      assert.equal(await setup.refresh(), true);
      assert.equal((await served(port, readFileSync(b.cert, 'utf8'))).subject, 'CN=b');
      // A certificate written without its key yet: refused, the current one stays.
      makePair('c');
      execFileSync('cp', [path.join(dir, 'c.crt'), a.cert]);
      assert.equal(await setup.refresh(), false);
      assert.equal((await served(port, readFileSync(b.cert, 'utf8'))).subject, 'CN=b');
    } finally {
      setup.stop();
      server.close();
    }
  });

  it('on a root, serves a certificate from the cluster CA for the node names', async () => {
    const dataDir = path.join(dir, 'root-c');
    const security = await NodeSecurity.prepare({ dataDir, isRoot: true });
    const config = makeConfig({ dataDir, isRoot: true, host: '0.0.0.0', https: { ...NO_HTTPS, edge: true, names: ['root.example.net'] } });
    assert.deepEqual(serverNames(config), ['root.example.net', '127.0.0.1', 'localhost', '::1'], 'the wildcard address is no name');
    const server = createWebServer(true, {}, (_req, res) => res.end('ok'));
    const setup = new HttpsSetup({ config, security, log, servers: [server], pool: noPool });
    await setup.start();
    const port = await listen(server);
    try {
      const cert = await served(port, security.caCertPem);
      assert.equal(cert.checkHost('root.example.net'), 'root.example.net');
      assert.match(cert.subject, new RegExp(`CN=${security.nodeId}`));
      assert.ok(new X509Certificate(readFileSync(path.join(dataDir, 'security', 'https.crt'))).raw.equals(cert.raw), 'the certificate served is the one kept');
    } finally {
      setup.stop();
      server.close();
    }
  });

  it('does nothing without HTTPS servers', async () => {
    const security = await NodeSecurity.prepare({ dataDir: path.join(dir, 'root-n'), isRoot: true });
    const setup = new HttpsSetup({ config: makeConfig({ dataDir: path.join(dir, 'root-n'), isRoot: true }), security, log, servers: [], pool: noPool });
    await setup.start();
    assert.equal(await setup.refresh(), false);
  });
});
