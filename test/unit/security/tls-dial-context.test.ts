/**
 * A TlsTransport makes its dialling secure context once per set of credentials
 * (tls-transport.ts): repeated dials present the same identity, and renewed credentials are
 * what the next dial presents, never the context made for the old ones.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { TlsTransport, type TlsCredentials } from '../../../src/security/tls-transport.js';
import { createCaCertificate, generateKeyPair, issueNodeCertificate, newNodeId } from '../../../src/security/x509.js';
import { authenticatedPeerId } from '../../../src/wire/transport.js';

async function issuer(): Promise<(nodeId: string) => Promise<TlsCredentials>> {
  const ca = generateKeyPair();
  const caCertPem = await createCaCertificate(ca, 'dial context');
  return async (nodeId) => {
    const k = generateKeyPair();
    const cert = await issueNodeCertificate({ nodeId, publicKeyPem: k.publicKeyPem, caCertPem, caKeyPem: ca.privateKeyPem });
    return { key: k.privateKeyPem, cert, ca: caCertPem };
  };
}

describe('dialling secure context', () => {
  it('is reused while the credentials stay, and follows them when they are renewed', async () => {
    const issue = await issuer();
    const server = new TlsTransport({ credentials: () => serverCreds, isRevoked: () => false });
    const serverCreds = await issue(newNodeId());
    const [first, renewed] = [newNodeId(), newNodeId()];
    let current = await issue(first);
    const client = new TlsTransport({ credentials: () => current, isRevoked: () => false });
    const seen: (string | undefined)[] = [];
    const streams: Duplex[] = [];
    const listener = await server.listen({ host: '127.0.0.1', port: 0 }, (stream) => {
      seen.push(authenticatedPeerId(stream));
      streams.push(stream);
    });
    let dials = 0;
    const dial = async () => {
      streams.push(await client.connect({ host: '127.0.0.1', port: listener.port }));
      dials++;
      // The server names the dialler once its side of the handshake is done.
      while (seen.length < dials) await new Promise((r) => setTimeout(r, 5));
    };
    try {
      await dial();
      await dial();
      current = await issue(renewed);
      await dial();
      assert.deepEqual(seen, [first, first, renewed]);
    } finally {
      for (const s of streams) s.destroy();
      await listener.close();
    }
  });
});
