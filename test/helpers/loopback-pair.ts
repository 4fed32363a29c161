/** Two PeerConnections over a real loopback TCP socket: `server` answers with `handler`. */
import net from 'node:net';
import { once } from 'node:events';
import { PeerConnection, type RequestHandler } from '../../src/wire/peer-connection.js';

export async function loopbackPair(handler: RequestHandler): Promise<{ server: PeerConnection; client: PeerConnection; close: () => void }> {
  let resolveConn!: (c: PeerConnection) => void;
  const server = new Promise<PeerConnection>((r) => (resolveConn = r));
  const srv = net.createServer((s) => resolveConn(new PeerConnection(s, handler)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const socket = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const client = new PeerConnection(socket, async () => undefined);
  return { server: await server, client, close: () => (client.destroy(), srv.close()) };
}
