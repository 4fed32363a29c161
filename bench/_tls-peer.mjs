/**
 * The serving side of bench/tls.ts, run as its own process so sender and receiver each get
 * a core. Modes: `canopy` attests the peer at `hello` (certificate + root-signed record),
 * then answers get-block over the mutual-TLS peer protocol after checking the requester's
 * attested attributes against a criteria, from blocks held in memory; `raw` writes SIZE bytes on a bare node:tls socket; `plain` the same on TCP.
 * Prints `{"port": N}` once listening.
 *
 * Plain JavaScript over the built modules (dist/, which `npm run bench` builds first), so
 * the holder runs as a shipped node does: through tsx its RSS carried ~45 MiB of loader.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { CanopyError } from '../dist/core/errors.js';
import { matches, parseCriteria } from '../dist/core/criteria.js';
import { PeerTrust } from '../dist/security/peer-trust.js';
import { PROTOCOL_VERSION } from '../dist/wire/messages.js';
import { PeerConnection } from '../dist/wire/peer-connection.js';
import { TlsTransport } from '../dist/security/tls-transport.js';

const [mode, dir, ciphers, sizeText, blockText] = process.argv.slice(2);
const size = Number(sizeText);
const blockSize = Number(blockText);
const creds = { key: readFileSync(path.join(dir, 'server.key'), 'utf8'), cert: readFileSync(path.join(dir, 'server.crt'), 'utf8'), ca: readFileSync(path.join(dir, 'ca.crt'), 'utf8') };
const trust = new PeerTrust(creds.ca);
const criteria = parseCriteria('region=eu & tier=edge');
const ownRecord = JSON.parse(readFileSync(path.join(dir, 'server.record.json'), 'utf8'));
const blocks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(blockSize, i + 1));

function pump(socket) {
  let left = size;
  const chunk = blocks[0];
  const write = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void socket.once('drain', write);
    }
    socket.end();
  };
  write();
}

let port;
if (mode === 'canopy') {
  const transport = new TlsTransport({ credentials: () => creds, isRevoked: () => false, ciphers });
  const listener = await transport.listen({ host: '127.0.0.1', port: 0 }, (stream) => {
    new PeerConnection(stream, async (req) => {
      if (req.type === 'hello') {
        const record = trust.attest(req.conn.transportPeerId, req.body.record);
        req.conn.remoteId = record.nodeId;
        req.conn.remoteAttrs = { ...record.attrs };
        return { body: { nodeId: 'bench', name: 'bench', record: ownRecord, version: PROTOCOL_VERSION } };
      }
      if (req.type === 'get-block') {
        if (!req.conn.remoteId || !matches(criteria, req.conn.remoteAttrs, req.conn.remoteId)) throw new CanopyError('ERR_NOT_AUTHORISED', 'not qualified');
        return { payload: blocks[req.body.index % blocks.length] };
      }
      return undefined;
    });
  });
  port = listener.port;
} else {
  const server =
    mode === 'raw'
      ? tls.createServer({ key: creds.key, cert: creds.cert, ca: creds.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', ciphers }, pump)
      : net.createServer({ noDelay: true }, pump);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
}
process.stdout.write(`${JSON.stringify({ port })}\n`);
