/**
 * One passive-mode data connection (RFC 959 PASV, RFC 2428 EPSV): a listener on a free
 * port of the control connection's local address that accepts a single connection, only
 * from the control connection's peer address (so nobody else can steal the transfer), and
 * wraps it in TLS when the session asked for a protected data channel (PROT P).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { CanopyError } from '../../core/errors.js';
import { BULK_FRAME_BYTES } from '../../wire/peer-connection.js';
import { keepBulkWritesApart } from '../../wire/tls-writes.js';

export const DATA_CONNECT_TIMEOUT_MS = 15_000;
export const DATA_IDLE_TIMEOUT_MS = 120_000;

export class PassiveListener {
  private socket: net.Socket | undefined;
  private waiter: ((s: net.Socket) => void) | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async open(host: string, allowedPeer: string | undefined): Promise<PassiveListener> {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0, backlog: 4 }, () => resolve());
    });
    const listener = new PassiveListener(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (s) => listener.onConnection(s, allowedPeer));
    server.on('error', () => listener.close());
    return listener;
  }

  private onConnection(s: net.Socket, allowedPeer: string | undefined): void {
    if (this.socket || (allowedPeer !== undefined && normalise(s.remoteAddress) !== normalise(allowedPeer))) {
      s.destroy();
      return;
    }
    this.socket = s;
    this.server.close();
    this.waiter?.(s);
  }

  /** Waits for the client to connect; with a secure context the socket is returned wrapped in TLS. */
  async accept(secureContext: tls.SecureContext | undefined, signal: AbortSignal): Promise<Duplex> {
    const raw =
      this.socket ??
      (await new Promise<net.Socket>((resolve, reject) => {
        const timer = setTimeout(() => reject(new CanopyError('ERR_TIMEOUT', 'the client did not open the data connection')), DATA_CONNECT_TIMEOUT_MS);
        signal.addEventListener('abort', () => reject(new CanopyError('ERR_CONNECTION_CLOSED', 'transfer aborted')), { once: true });
        this.waiter = (s) => {
          clearTimeout(timer);
          resolve(s);
        };
      }));
    raw.setNoDelay(true);
    // A client that stops reading (or never completes the TLS handshake) must not pin the transfer forever.
    raw.setTimeout(DATA_IDLE_TIMEOUT_MS, () => raw.destroy(new CanopyError('ERR_TIMEOUT', 'data connection idle')));
    raw.resume();
    if (!secureContext) return raw;
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext });
    // Block slices go to it in pieces, each encrypted from where it lies (wire/tls-writes.ts).
    keepBulkWritesApart(secure, BULK_FRAME_BYTES);
    secure.on('error', () => raw.destroy());
    watchHandshake(secure);
    return secure;
  }

  close(): void {
    this.server.close();
    this.socket?.destroy();
  }
}

/**
 * Resolves once a protected data connection has finished its TLS handshake (at once for a
 * clear one). A transfer of zero bytes (an empty file, REST at the end) must wait for it:
 * closing the socket before the handshake is done makes clients fail (ftplib SSLEOFError,
 * lftp a gnutls error, curl replies out of step). Clients start the handshake after the
 * 150 reply, so the caller sends 150 first.
 */
export function handshaken(data: Duplex): Promise<void> {
  return handshakes.get(data) ?? Promise.resolve();
}

const handshakes = new WeakMap<Duplex, Promise<void>>();

function watchHandshake(secure: tls.TLSSocket): void {
  const done = new Promise<void>((resolve, reject) => {
    secure.once('secure', () => resolve());
    secure.once('close', () => reject(new CanopyError('ERR_CONNECTION_CLOSED', 'the data connection closed during its TLS handshake')));
  });
  done.catch(() => undefined);
  handshakes.set(secure, done);
}

function normalise(address: string | undefined): string | undefined {
  return address?.replace(/^::ffff:/, '');
}
