/**
 * A hostile peer for fault tests, run as its own process inside a namespace: it joins the
 * root like a node, tells the root and every peer that it holds every block of every content
 * with no load at all (so schedulers find it attractive), and answers every block request
 * with random bytes of the right length. Usage: evil-peer.ts <root host:port> <own ip> [key=value ...]
 */
import { randomBytes } from 'node:crypto';
import { parseManifest } from '../../src/core/manifest.js';
import { Bitfield } from '../../src/swarm/bitfield.js';
import { PeerConnection, type RequestHandler } from '../../src/wire/peer-connection.js';
import { PROTOCOL_VERSION, type JoinReply, type MessageBodies } from '../../src/wire/messages.js';
import { TcpTransport } from '../../src/wire/tcp-transport.js';
import { parseAddress } from '../../src/wire/transport.js';

const [rootText, host, ...attrPairs] = process.argv.slice(2);
const attrs = Object.fromEntries(attrPairs.map((p) => p.split('=') as [string, string]));
const identity = { nodeId: `evil${randomBytes(6).toString('hex')}`, name: 'evil', attrs, version: PROTOCOL_VERSION };
const manifests = new Map<string, { blocks: readonly { length: number }[] }>();

const handler: RequestHandler = async ({ type, body, conn }) => {
  switch (type) {
    case 'hello':
      conn.remoteId = (body as MessageBodies['hello']).nodeId;
      return { body: { ...identity } };
    case 'announce': {
      const { contentId, manifest } = body as MessageBodies['announce'];
      learn(contentId, manifest);
      return;
    }
    case 'interest': {
      const m = manifests.get((body as MessageBodies['interest']).contentId)!;
      return { body: { blocks: m.blocks.length, seed: false, uploads: 0, queuedBytes: 0, rate: 0, cap: 0 }, payload: Bitfield.full(m.blocks.length).toBuffer() };
    }
    case 'load':
      return { body: { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 } };
    case 'get-block': {
      const { contentId, index } = body as MessageBodies['get-block'];
      return { payload: randomBytes(manifests.get(contentId)!.blocks[index]!.length) };
    }
    default:
      return;
  }
};

const transport = new TcpTransport();
const listener = await transport.listen({ host: host!, port: 0 }, (stream) => new PeerConnection(stream, handler));
const root = new PeerConnection(await transport.connect(parseAddress(rootText!)!), handler);
await root.request('hello', identity);
// It stays out of the control tree (announcements flood over tree edges), so it learns new
// contents by joining again every half second: each join reply carries the whole catalog.
async function joinRoot(): Promise<void> {
  const reply = await root.request('join', { peer: { host: host!, port: listener.port }, api: `http://${host}:1`, http: `http://${host}:1` });
  for (const c of (reply.header.catalog as JoinReply['catalog']) ?? []) if (!manifests.has(c.contentId)) learn(c.contentId, c.manifest);
}
await joinRoot();
setInterval(() => void joinRoot().catch(() => undefined), 500);
function learn(contentId: string, manifest: unknown): void {
  const m = parseManifest(manifest, contentId);
  manifests.set(contentId, m);
  void root.notify('progress', { contentId, haveBlocks: m.blocks.length, haveBytes: m.size });
}

process.stdout.write(`${JSON.stringify({ event: 'ready', nodeId: identity.nodeId })}\n`);
root.once('close', () => process.exit(0));
