/**
 * Joining the cluster with a token. The node dials the root's peer port with the ALPN
 * protocol `canopy-enrol/1` and no client certificate, checks that the root's certificate
 * chains to the CA whose fingerprint the token carries (so the token is never shown to an
 * impostor), then sends one frame `{t:"enrol", token, publicKey}` and receives its node
 * id, certificate, the CA certificate and its signed attribute record. The root's side
 * reads that one frame with tight size and time limits and closes.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { connect } from 'node:tls';
import { CanopyError, isCanopyError } from '../core/errors.js';
import { encodeFrame, FrameDecoder } from '../wire/frame-codec.js';
import { ENROL_ALPN } from './tls-transport.js';
import { formatAddress, type PeerAddress } from '../wire/transport.js';
import { verifyAttributeRecord, type AttributeRecord } from './attribute-record.js';
import type { Authority } from './authority.js';
import { decodeJoinToken, MAX_TOKEN_LENGTH } from './join-token.js';
import { nodeIdOf, type KeyPairPem } from './x509.js';

export const ENROL_TIMEOUT_MS = 10_000;
const MAX_ENROL_FRAME = 16 * 1024;

export interface EnrolledCredentials {
  nodeId: string;
  keyPem: string;
  certPem: string;
  caCertPem: string;
  record: AttributeRecord;
}

/** Reads exactly one frame from a socket, within the limits; resolves with its header. */
function readOneFrame(socket: tls.TLSSocket, maxHeader: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(maxHeader, 0);
    const timer = setTimeout(() => finish(new CanopyError('ERR_TIMEOUT', 'enrolment: no complete answer in time')), ENROL_TIMEOUT_MS);
    const finish = (err: Error | undefined, header?: Record<string, unknown>) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(header!);
    };
    const onData = (chunk: Buffer) => {
      try {
        const frames = decoder.push(chunk);
        if (frames.length > 0) finish(undefined, frames[0]!.header);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () => finish(new CanopyError('ERR_CONNECTION_CLOSED', 'enrolment: connection closed'));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * One enrolment attempt. The caller keeps `keys` across attempts: a root that admitted this key
 * with this token answers the same key again with the same node id, so an attempt whose answer
 * was lost (a lossy link, a timeout) can be retried with a token that is already spent.
 */
export async function enrol(root: PeerAddress, token: string, keys: KeyPairPem): Promise<EnrolledCredentials> {
  const t = decodeJoinToken(token);
  const where = formatAddress(root);
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = connect({ host: root.host, port: root.port, ALPNProtocols: [ENROL_ALPN], rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    const timer = setTimeout(() => s.destroy(new CanopyError('ERR_TIMEOUT', `enrolment: ${where} did not answer`)), ENROL_TIMEOUT_MS);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(isCanopyError(err) ? err : new CanopyError('ERR_UNREACHABLE', `enrolment: cannot reach the root at ${where}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
  });
  try {
    const caCertPem = pinnedCa(socket, t.ca, where);
    socket.write(Buffer.concat(encodeFrame({ t: 'enrol', token, publicKey: keys.publicKeyPem })));
    const reply = await readOneFrame(socket, 1 << 20);
    if (reply.t !== 'ok') throw new CanopyError('ERR_NOT_AUTHORISED', `the root refused the join token: ${String(reply.message ?? reply.code)}`);
    const certPem = String(reply.cert);
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caCertPem);
    if (!cert.verify(ca.publicKey) || nodeIdOf(cert) !== reply.nodeId) throw new CanopyError('ERR_NOT_AUTHORISED', 'enrolment: the issued certificate does not check out');
    const record = verifyAttributeRecord(reply.record, ca.publicKey);
    if (record.nodeId !== reply.nodeId) throw new CanopyError('ERR_NOT_AUTHORISED', 'enrolment: the attribute record names another node');
    return { nodeId: String(reply.nodeId), keyPem: keys.privateKeyPem, certPem, caCertPem, record };
  } finally {
    socket.destroy();
  }
}

/** The CA certificate the root presented, if its fingerprint is the token's and it signed the root's certificate. */
function pinnedCa(socket: tls.TLSSocket, expected: string, where: string): string {
  const peer = socket.getPeerCertificate(true);
  const issuer = peer?.issuerCertificate;
  if (!peer?.raw || !issuer?.raw) throw new CanopyError('ERR_NOT_AUTHORISED', `enrolment: ${where} presented no certificate chain`);
  const fp = createHash('sha256').update(issuer.raw).digest('hex');
  const ca = new X509Certificate(issuer.raw);
  if (fp !== expected || !new X509Certificate(peer.raw).verify(ca.publicKey)) {
    throw new CanopyError('ERR_NOT_AUTHORISED', `enrolment: ${where} is not the root of the cluster this token belongs to (CA fingerprint mismatch)`);
  }
  return ca.toString();
}

/** The root's side: answer one enrolment request on a socket, then close it. */
export function serveEnrolment(socket: tls.TLSSocket, authority: Authority, onResult: (r: { nodeId?: string; err?: Error }) => void): void {
  void (async () => {
    let reply: Record<string, unknown>;
    try {
      const req = await readOneFrame(socket, MAX_ENROL_FRAME);
      if (req.t !== 'enrol' || typeof req.token !== 'string' || req.token.length > MAX_TOKEN_LENGTH || typeof req.publicKey !== 'string' || req.publicKey.length > 1024) {
        throw new CanopyError('ERR_WIRE_PROTOCOL', 'enrolment: expected {t:"enrol", token, publicKey}');
      }
      const e = await authority.enrol(req.token, req.publicKey);
      reply = { t: 'ok', nodeId: e.nodeId, cert: e.certPem, ca: e.caCertPem, record: e.record };
      onResult({ nodeId: e.nodeId });
    } catch (err) {
      const e = isCanopyError(err) ? err : new CanopyError('ERR_WIRE_PROTOCOL', 'enrolment failed');
      reply = { t: 'err', code: e.code, message: e.message };
      onResult({ err: e });
    }
    if (!socket.destroyed) socket.end(Buffer.concat(encodeFrame(reply)));
  })();
}
