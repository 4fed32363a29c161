/**
 * The demo's proof that holders enforce the criteria: it borrows an unqualified node's own
 * credentials (certificate, key and root-signed record from its data directory), dials a
 * holder over mutual TLS exactly as that node would, and asks for a block whose hash it
 * knows. An honest holder answers ERR_NOT_AUTHORISED.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CanopyError, isCanopyError } from '../core/errors.js';
import { PROTOCOL_VERSION } from '../wire/messages.js';
import { PeerConnection } from '../wire/peer-connection.js';
import { TlsTransport } from '../security/tls-transport.js';
import type { PeerAddress } from '../wire/transport.js';

/** Returns the error code the holder answered with, or 'SENT' if it sent the block. */
export async function probeBlockAs(dataDir: string, holder: PeerAddress, contentId: string): Promise<string> {
  const f = (name: string) => readFileSync(path.join(dataDir, 'security', name), 'utf8');
  const creds = { key: f('node.key'), cert: f('node.crt'), ca: f('ca.crt') };
  const transport = new TlsTransport({ credentials: () => creds, isRevoked: () => false });
  const conn = new PeerConnection(await transport.connect(holder), async () => {
    throw new CanopyError('ERR_WIRE_PROTOCOL', 'the probe answers nothing');
  });
  try {
    const record = JSON.parse(f('attributes.json')) as Record<string, unknown>;
    await conn.request('hello', { nodeId: String(record.nodeId), name: 'probe', record, version: PROTOCOL_VERSION }, { timeoutMs: 10_000 });
    await conn.request('get-block', { contentId, index: 0 }, { timeoutMs: 10_000 });
    return 'SENT';
  } catch (err) {
    return isCanopyError(err) ? err.code : 'ERR_CONNECTION_CLOSED';
  } finally {
    conn.destroy();
  }
}
