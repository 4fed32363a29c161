/**
 * Mutual TLS between nodes. Both sides present a certificate issued by the cluster CA; the
 * node id is the certificate's common name. The server asks every client for a certificate
 * and, once the handshake is done and before a single byte of request is read, drops any
 * connection whose certificate is missing, self-signed, expired, revoked or not a node
 * certificate. One more ALPN protocol, `canopy-enrol/1`, lets a node without a certificate
 * reach the root's enrolment handler, which reads exactly one small token-bearing frame.
 *
 * Hostile-input limits live here too: a TLS handshake must finish within
 * HANDSHAKE_TIMEOUT_MS, at most MAX_PENDING_HANDSHAKES may be in progress (and
 * MAX_PENDING_HANDSHAKES_PER_ADDRESS from one address), and one node may hold at most
 * MAX_CONNECTIONS_PER_NODE connections to us.
 */
import { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import type { OnReadOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { CanopyError } from '../core/errors.js';
import { nodeIdOf } from './x509.js';
import { BULK_FRAME_BYTES } from '../wire/peer-connection.js';
import { answerRevoked } from '../wire/revoked-answer.js';
import { keepBulkWritesApart } from '../wire/tls-writes.js';
import { markReusedReads, ReusedReads } from '../wire/reused-reads.js';
import { openListener } from '../wire/tcp-transport.js';
import { formatAddress, markAuthenticated, type Listener, type PeerAddress, type Transport } from '../wire/transport.js';

export const PEER_ALPN = 'canopy/1';
export const ENROL_ALPN = 'canopy-enrol/1';
export const HANDSHAKE_TIMEOUT_MS = 5_000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const MAX_PENDING_HANDSHAKES = 1024;
/** Per remote address, so one host holding sockets open cannot lock everyone else out. */
export const MAX_PENDING_HANDSHAKES_PER_ADDRESS = 32;
export const MAX_CONNECTIONS_PER_NODE = 16;
/** AES-128-GCM first: on AES-NI hardware it is the fastest AEAD TLS 1.3 offers (see bench/tls.ts). */
export const DEFAULT_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export interface TlsCredentials {
  key: string;
  cert: string;
  ca: string;
}

export interface TlsTransportOptions {
  credentials: () => TlsCredentials;
  isRevoked: (nodeId: string) => boolean;
  /** The root's enrolment handler; without it enrolment connections are dropped. */
  onEnrol?: (socket: tls.TLSSocket) => void;
  ciphers?: string;
  onRefused?: (reason: string, remote: string) => void;
  /** A revoked node dialled; without it, nothing is logged. */
  onRevokedPeer?: (nodeId: string, remote: string) => void;
  /**
   * Answer a revoked node with ERR_NODE_REVOKED (see ../wire/revoked-answer.ts) instead of a
   * bare close. Only the root does: a revoked node dials the root first (join, root link), and
   * hearing it there is enough to stop; holders tell it nothing.
   */
  tellRevoked?: boolean;
}


export class TlsTransport implements Transport {
  private readonly servers = new Set<tls.Server>();
  /**
   * The secure context every dial uses, made once per set of credentials: building one parses
   * the key, the chain and the CA (~1.4 ms of CPU here), and a node dials every holder of
   * every content it fetches (4-5 % of a node's CPU in a 32-node swarm, made per dial).
   */
  private dialContext: { key: string; cert: string; ca: string; context: tls.SecureContext } | undefined;

  constructor(private readonly options: TlsTransportOptions) {}

  /** Picks up renewed credentials: new connections use them; established ones keep theirs. */
  refresh(): void {
    this.dialContext = undefined;
    for (const server of this.servers) server.setSecureContext(this.context());
  }

  /** The dialling context for the current credentials (rebuilt when they change, renewal or refresh). */
  private clientContext(): tls.SecureContext {
    const c = this.options.credentials();
    const d = this.dialContext;
    if (d && d.key === c.key && d.cert === c.cert && d.ca === c.ca) return d.context;
    const context = tls.createSecureContext(this.context());
    this.dialContext = { key: c.key, cert: c.cert, ca: c.ca, context };
    return context;
  }

  private context(): tls.SecureContextOptions {
    const c = this.options.credentials();
    // The chain includes the CA so that an enrolling node can pin it by fingerprint.
    return { key: c.key, cert: `${c.cert.trim()}\n${c.ca.trim()}\n`, ca: c.ca, minVersion: 'TLSv1.3', ciphers: this.options.ciphers ?? DEFAULT_CIPHERS };
  }

  async listen(address: PeerAddress, onConnection: (stream: Duplex) => void): Promise<Listener> {
    const perNode = new Map<string, number>();
    const pendingByAddress = new Map<string, number>();
    let pending = 0;
    // The TLS socket handed to 'secureConnection' is not the raw one: they share the remote address and port.
    const handshakeDone = new Map<string, () => void>();
    const sockets = new Set<net.Socket>();
    const server = tls.createServer({ ...this.context(), requestCert: true, rejectUnauthorized: false, ALPNProtocols: [PEER_ALPN, ENROL_ALPN], handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    server.on('connection', (raw: net.Socket) => {
      sockets.add(raw);
      raw.once('close', () => sockets.delete(raw));
      raw.setNoDelay(true);
      const from = raw.remoteAddress ?? '?';
      const fromCount = pendingByAddress.get(from) ?? 0;
      if (pending >= MAX_PENDING_HANDSHAKES) return this.refuse(raw, 'too many handshakes in progress');
      if (fromCount >= MAX_PENDING_HANDSHAKES_PER_ADDRESS) return this.refuse(raw, `too many handshakes in progress from ${from}`);
      pending++;
      pendingByAddress.set(from, fromCount + 1);
      let counted = true;
      const done = () => {
        if (!counted) return;
        counted = false;
        pending--;
        const left = (pendingByAddress.get(from) ?? 1) - 1;
        if (left <= 0) pendingByAddress.delete(from);
        else pendingByAddress.set(from, left);
      };
      const key = `${from}:${raw.remotePort}`;
      handshakeDone.set(key, done);
      raw.once('close', () => {
        done();
        if (handshakeDone.get(key) === done) handshakeDone.delete(key);
      });
    });
    server.on('tlsClientError', (err, socket) => this.refuse(socket, `TLS handshake failed: ${err.message}`));
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      handshakeDone.get(key)?.();
      handshakeDone.delete(key);
      if (socket.alpnProtocol === ENROL_ALPN && this.options.onEnrol) return this.options.onEnrol(socket);
      if (socket.alpnProtocol !== PEER_ALPN) return this.refuse(socket, 'unknown ALPN protocol');
      const nodeId = this.verifyPeer(socket);
      if (!nodeId) return;
      const n = perNode.get(nodeId) ?? 0;
      if (n >= MAX_CONNECTIONS_PER_NODE) return this.refuse(socket, `node ${nodeId} already has ${n} connections`);
      perNode.set(nodeId, n + 1);
      socket.once('close', () => {
        const left = (perNode.get(nodeId) ?? 1) - 1;
        if (left <= 0) perNode.delete(nodeId);
        else perNode.set(nodeId, left);
      });
      markAuthenticated(socket, nodeId);
      keepBulkWritesApart(socket, BULK_FRAME_BYTES);
      onConnection(socket);
    });
    const listener = await openListener(server as unknown as net.Server, address, sockets);
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return listener;
  }

  connect(address: PeerAddress, signal?: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      // Records are read into one reused buffer, not a fresh one each (wire/reused-reads.ts).
      // (node:tls passes `onread` on to node:net; its type does not list it.)
      const reads = new ReusedReads();
      const options: tls.ConnectionOptions & { onread: OnReadOpts } = {
        host: address.host,
        port: address.port,
        onread: reads.onread,
        secureContext: this.clientContext(),
        ALPNProtocols: [PEER_ALPN],
        // Nodes are addressed by IP and named by id: the chain check is what matters here.
        checkServerIdentity: (_host, cert) => (nodeIdOf(new X509Certificate(cert.raw)) ? undefined : new Error('the server certificate is not a Canopy node certificate')),
      };
      const socket = tls.connect(options);
      signal?.addEventListener('abort', () => socket.destroy(new CanopyError('ERR_TIMEOUT', 'connect aborted')), { once: true });
      socket.setNoDelay(true);
      const where = formatAddress(address);
      const timer = setTimeout(() => socket.destroy(new CanopyError('ERR_TIMEOUT', `connecting to ${where} timed out`)), CONNECT_TIMEOUT_MS);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        const nodeId = socket.authorized ? nodeIdOf(socket.getPeerX509Certificate()!) : undefined;
        if (!nodeId || this.options.isRevoked(nodeId)) {
          socket.destroy();
          reject(new CanopyError('ERR_NOT_AUTHORISED', `${where} did not present a valid, unrevoked cluster certificate${socket.authorizationError ? ` (${String(socket.authorizationError)})` : ''}`));
          return;
        }
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        markAuthenticated(socket, nodeId);
        markReusedReads(socket, reads);
        keepBulkWritesApart(socket, BULK_FRAME_BYTES);
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof CanopyError ? err : new CanopyError('ERR_UNREACHABLE', `cannot reach ${where} over mutual TLS: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
      });
    });
  }

  /** The peer's node id if its certificate chains to our CA, is in date and is not revoked; otherwise drops it. */
  private verifyPeer(socket: tls.TLSSocket): string | undefined {
    if (!socket.authorized) {
      this.refuse(socket, `no valid cluster certificate (${String(socket.authorizationError ?? 'none presented')})`);
      return undefined;
    }
    const cert = socket.getPeerX509Certificate();
    const nodeId = cert ? nodeIdOf(cert) : undefined;
    if (!nodeId) {
      this.refuse(socket, 'certificate is not a node certificate');
      return undefined;
    }
    if (this.options.isRevoked(nodeId)) {
      this.options.onRevokedPeer?.(nodeId, `${socket.remoteAddress}:${socket.remotePort}`);
      if (this.options.tellRevoked) answerRevoked(socket, nodeId);
      else socket.destroy();
      return undefined;
    }
    return nodeId;
  }

  private refuse(socket: net.Socket, reason: string): void {
    this.options.onRefused?.(reason, `${socket.remoteAddress}:${socket.remotePort}`);
    socket.destroy();
  }
}
