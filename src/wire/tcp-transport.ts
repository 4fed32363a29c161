import net from 'node:net';
import type { Duplex } from 'node:stream';
import { CanopyError } from '../core/errors.js';
import { markReusedReads, ReusedReads } from './reused-reads.js';
import { formatAddress, type Listener, type PeerAddress, type Transport } from './transport.js';

export const CONNECT_TIMEOUT_MS = 10_000;

/** Binds `server`; the Listener's close() also cuts the connections still open in `sockets`. */
export async function openListener(server: net.Server, address: PeerAddress, sockets: ReadonlySet<net.Socket>): Promise<Listener> {
  await listenOn(server, address);
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export class TcpTransport implements Transport {
  async listen(address: PeerAddress, onConnection: (stream: Duplex) => void): Promise<Listener> {
    const server = net.createServer({ noDelay: true }, (socket) => onConnection(socket));
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    return openListener(server, address, sockets);
  }

  connect(address: PeerAddress, signal?: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const reads = new ReusedReads();
      const socket = net.connect({ host: address.host, port: address.port, noDelay: true, signal, onread: reads.onread });
      markReusedReads(socket, reads);
      const timer = setTimeout(() => socket.destroy(new CanopyError('ERR_TIMEOUT', `connecting to ${formatAddress(address)} timed out`)), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof CanopyError ? err : new CanopyError('ERR_UNREACHABLE', `cannot reach ${formatAddress(address)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
      });
    });
  }
}

/** Listens, turning EADDRINUSE into a clear, coded error. Shared by the peer, API and edge servers. */
export function listenOn(server: net.Server, address: PeerAddress, what = 'peer'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new CanopyError('ERR_PORT_IN_USE', `${what} port ${address.port} on ${address.host} is already in use; choose another with the matching --*-port option or 0 for any free port`)
          : err,
      );
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
