/**
 * A hostile peer for fault tests, run as its own process inside a namespace: it joins the
 * root like a node, tells the root and every peer that it holds every block of every content
 * with no load at all (so schedulers find it attractive), and answers every block request
 * with random bytes of the right length (in pieces, a little apart, when asked for pieces: so
 * honest nodes start relaying the block before they find it corrupt and must abort the relay). It is an insider: it enrolled with a join token, so
 * it holds a valid cluster certificate and qualifies; only the block hashes give it away.
 * Usage: evil-peer.ts <root host:port> <own ip> <join token> <data dir>
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pieceBytes, slices } from '../../src/swarm/relay-feed.js';
import { parseManifest } from '../../src/core/manifest.js';
import { Bitfield } from '../../src/swarm/bitfield.js';
import { PeerConnection, type RequestHandler } from '../../src/wire/peer-connection.js';
import { PROTOCOL_VERSION, type JoinReply, type MessageBodies } from '../../src/wire/messages.js';
import { NodeSecurity } from '../../src/security/node-security.js';
import { parseAddress } from '../../src/wire/transport.js';

const [rootText, host, token, dataDir] = process.argv.slice(2);
const security = await NodeSecurity.prepare({ dataDir: dataDir!, isRoot: false, token, join: parseAddress(rootText!)! });
const identity = { nodeId: security.nodeId, name: 'evil', record: security.record as unknown as Record<string, unknown>, version: PROTOCOL_VERSION };
const manifests = new Map<string, { blocks: readonly { length: number }[] }>();

const handler: RequestHandler = async ({ type, body, conn }) => {
  switch (type) {
    case 'hello':
      security.attest(conn, (body as MessageBodies['hello']).record);
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
      const { contentId, index, pieces } = body as MessageBodies['get-block'];
      const junk = randomBytes(manifests.get(contentId)!.blocks[index]!.length);
      if (!pieces) return { payload: junk };
      return {
        pieces: (async function* () {
          for (const piece of slices([junk], 0, junk.length, pieceBytes(junk.length))) {
            yield piece;
            await sleep(50);
          }
        })(),
      };
    }
    default:
      return;
  }
};

const transport = security.transport();
const listener = await transport.listen({ host: host!, port: 0 }, (stream) => new PeerConnection(stream, handler));
const root = new PeerConnection(await transport.connect(parseAddress(rootText!)!), handler);
const welcome = await root.request('hello', identity);
security.attest(root, welcome.header.record);
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
