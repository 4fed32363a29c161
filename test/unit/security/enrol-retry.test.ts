/**
 * Enrolment over a link that loses the root's answer: the root has spent the token, the node
 * never heard. The node tries again with the same key and the root answers again with the same
 * node id; a different key with that token is still refused, and so is a revoked holder's. Real
 * TLS on loopback, through a TCP relay that cuts the first connection as the answer starts.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CanopyError, isCanopyError } from '../../../src/core/errors.js';
import { createJoinToken } from '../../../src/security/join-token.js';
import { enrol } from '../../../src/security/enrolment.js';
import { enrolWithAny } from '../../../src/security/enrolment-retry.js';
import { NodeSecurity } from '../../../src/security/node-security.js';
import { generateKeyPair } from '../../../src/security/x509.js';

/** A relay to `port` that drops its first `lose` connections once `answering()` says the root is sending its answer. */
async function lossyRelay(port: number, lose: number, answering: () => boolean): Promise<{ server: Server; port: number }> {
  let seen = 0;
  const server = createServer((client: Socket) => {
    const drop = seen++ < lose;
    const upstream = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      // The root reports an enrolment before it writes the answer, so bytes that come after
      // the report are the answer (not handshake: a ClientHello's size differs by Node version).
      if (drop && answering()) {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('enrolment retried after a lost answer', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-enrol-retry-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers the same key again with the same node id, and refuses any other key', async () => {
    const answered: string[] = [];
    const root = await NodeSecurity.prepare({ dataDir: path.join(dir, 'root'), isRoot: true, onEnrolment: (r) => answered.push(r.nodeId ?? r.err!.message) });
    const listener = await root.transport().listen({ host: '127.0.0.1', port: 0 }, (s) => s.destroy());
    const relay = await lossyRelay(listener.port, 1, () => answered.length > 0);
    try {
      const authority = root.authority!;
      const { token } = createJoinToken({ attrs: { zone: 'a' }, ttlMs: 60_000, caKeyPem: authority.caKey, caFingerprint: authority.caFingerprint });
      const retries: string[] = [];
      const creds = await enrolWithAny([{ host: '127.0.0.1', port: relay.port }], token, { patienceMs: 20_000, onRetry: (err) => retries.push(err.code) });
      assert.deepEqual(retries, ['ERR_CONNECTION_CLOSED'], 'the first answer was lost and the node tried again');
      assert.deepEqual(answered, [creds.nodeId, creds.nodeId], 'the root answered twice (the first answer lost), with one node id');
      assert.equal(authority.records().length, 2, 'one node admitted (besides the root), not two');
      assert.deepEqual(creds.record.attrs, { zone: 'a' });
      // Another key with the spent token: refused, and not retried.
      await assert.rejects(enrol({ host: '127.0.0.1', port: listener.port }, token, generateKeyPair()), (err: unknown) => isCanopyError(err) && /already used/.test(err.message));
      // The holder's own key asking once more (before and after its revocation).
      const own = { privateKeyPem: creds.keyPem, publicKeyPem: createPublicKey(creds.keyPem).export({ type: 'spki', format: 'pem' }).toString() };
      assert.equal((await enrol({ host: '127.0.0.1', port: listener.port }, token, own)).nodeId, creds.nodeId);
      authority.revoke(creds.nodeId);
      await assert.rejects(enrol({ host: '127.0.0.1', port: listener.port }, token, own), (err: unknown) => err instanceof CanopyError && err.code === 'ERR_NOT_AUTHORISED');
    } finally {
      relay.server.close();
      await listener.close();
    }
  });
});
