/**
 * Speaks the peer protocol from the test process with a real node's credentials (or forged
 * ones), over real mutual TLS: how the security tests play a misbehaving node.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CanopyError } from '../../src/core/errors.js';
import { PeerConnection } from '../../src/wire/peer-connection.js';
import { PROTOCOL_VERSION } from '../../src/wire/messages.js';
import { TlsTransport, type TlsCredentials } from '../../src/security/tls-transport.js';
import type { PeerAddress } from '../../src/wire/transport.js';

export function credentialsOf(dataDir: string): TlsCredentials & { record: Record<string, unknown> } {
  const f = (name: string) => readFileSync(path.join(dataDir, 'security', name), 'utf8');
  return { key: f('node.key'), cert: f('node.crt'), ca: f('ca.crt'), record: JSON.parse(f('attributes.json')) as Record<string, unknown> };
}

/** Dials `address` with these credentials and says hello with `record`; resolves with the attested connection. */
export async function dialAs(creds: TlsCredentials, address: PeerAddress, record: Record<string, unknown>): Promise<PeerConnection> {
  const transport = new TlsTransport({ credentials: () => creds, isRevoked: () => false });
  const stream = await transport.connect(address);
  const conn = new PeerConnection(stream, async () => {
    throw new CanopyError('ERR_WIRE_PROTOCOL', 'the test peer answers nothing');
  });
  try {
    await conn.request('hello', { nodeId: '0000000000000000', name: 'test-peer', record, version: PROTOCOL_VERSION }, { timeoutMs: 10_000 });
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return conn;
}
