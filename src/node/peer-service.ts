/**
 * Answers what peers ask of this node. Every connection must start with `hello`, whose
 * sender is attested: its node id is its TLS certificate's, its attributes are the
 * root-signed record it presents (or a newer one we know). Control tree messages (`tree`)
 * go to the tree core and `ping` answers round-trip probes. Blocks are sent only to
 * requesters whose attested attributes meet the content's criteria (the root and the
 * content's origin excepted): policy is enforced where data leaves.
 */
import { matches, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import type { RootRegistry } from '../tree/root-registry.js';
import type { IncomingRequest, RequestHandler } from '../wire/peer-connection.js';
import { PROTOCOL_VERSION, type MessageBodies } from '../wire/messages.js';
import type { BlockStore } from '../store/block-store.js';
import type { Catalog } from './catalog.js';
import type { Logger } from './logger.js';
import type { LocalIdentity, PeerAuthenticator } from '../wire/peer-pool.js';
import type { PeerAddress } from '../wire/transport.js';
import type { Holder } from '../wire/messages.js';
import type { Manifest } from '../core/manifest.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { Bitfield } from '../swarm/bitfield.js';
import type { HaveBroadcaster } from '../swarm/have-broadcaster.js';
import type { UploadLimiter } from '../swarm/upload-limiter.js';

export interface PeerServiceDeps {
  identity: LocalIdentity;
  auth: PeerAuthenticator;
  catalog: Catalog;
  store: BlockStore;
  registry: RootRegistry | undefined;
  rootId: () => string | undefined;
  /** This node's own peer address, as others reach it. */
  selfPeer: () => PeerAddress;
  onWithdraw: (body: MessageBodies['withdraw']) => void;
  /** The root's signed form of a withdrawal it recorded (for the catalog sync). */
  signWithdrawal?: (w: { contentId: string; at: string; reason: string }) => MessageBodies['withdraw'];
  /** Throws unless this node may serve the content now (catalog synced, content live). */
  checkServing: (contentId: string) => void;
  /** The blocks of a content this node holds. */
  bitfield: (contentId: string) => Bitfield;
  uploads: UploadLimiter;
  broadcaster: HaveBroadcaster;
  /** A holder we listen to has a new block, or (a seed) has just sent one to someone. */
  onHave: (peerId: string, contentId: string, index: number, seeded: boolean) => void;
  onAnnounce: (contentId: string, manifest: unknown, access?: unknown) => void;
  /** The signed access statement of a content, if it is not public. */
  accessStatement: (contentId: string) => unknown;
  onTrustUpdate: (update: MessageBodies['trust-update']) => void;
  /** The root's certificate renewal (same node id, new key). */
  renewCertificate?: (nodeId: string, publicKeyPem: string) => Promise<string>;
  /** Called after a node joins the root, to send it what it must know (revocations). */
  onJoined?: (conn: IncomingRequest['conn']) => void;
  /** The root's signed list of authorised publisher keys, sent with the catalog sync. */
  publisherList?: () => unknown;
  /** A control-tree message from the peer `connId` (its certificate's node id). */
  onTree: (connId: string, from: MessageBodies['tree']['from'], m: unknown) => void;
  /** This node's store figures, told only to the root (volumes and paths are the operator's business). */
  storeStats?: () => unknown;
  log: Logger;
}

export function createPeerService(deps: PeerServiceDeps): RequestHandler {
  const names = new WeakMap<object, string>();
  /** Block requests still waiting for an upload slot, per connection, so `cancel` can drop them. */
  const waiting = new WeakMap<PeerConnection, Map<string, AbortController>>();
  return async (req: IncomingRequest) => {
    const { conn } = req;
    if (req.type === 'hello') {
      const body = req.body as MessageBodies['hello'];
      if (body.version !== PROTOCOL_VERSION) throw new CanopyError('ERR_WIRE_PROTOCOL', `protocol version ${body.version} is not supported (this node speaks ${PROTOCOL_VERSION})`);
      try {
        deps.auth.attest(conn, body.record);
      } catch (err) {
        deps.log.warn('refused peer at hello', { peer: conn.transportPeerId, err: err as Error });
        throw err;
      }
      names.set(conn, body.name);
      return { body: { ...deps.auth.hello() } };
    }
    if (conn.remoteId === undefined) throw new CanopyError('ERR_WIRE_PROTOCOL', 'the first message on a connection must be hello');
    switch (req.type) {
      case 'get-block': {
        const { contentId, index } = req.body as MessageBodies['get-block'];
        const manifest = authorise(deps, conn, contentId);
        const block = manifest.blocks[index];
        if (!block) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${contentId.slice(0, 12)} has no block ${index}`);
        let mine = waiting.get(conn);
        if (!mine) waiting.set(conn, (mine = new Map()));
        const key = `${contentId}/${index}`;
        const abort = new AbortController();
        mine.set(key, abort);
        let release: () => void;
        try {
          release = await deps.uploads.acquire(block.length, abort.signal);
        } catch {
          throw new CanopyError('ERR_TIMEOUT', `request for block ${index} was cancelled`);
        } finally {
          if (mine.get(key) === abort) mine.delete(key);
        }
        try {
          const payload = await deps.store.get(block.hash);
          if (deps.bitfield(contentId).complete) deps.broadcaster.sent(contentId, index);
          deps.log.debug('sending block', { contentId, index, to: conn.remoteId });
          return { payload, sent: release };
        } catch (err) {
          release();
          throw err;
        }
      }
      case 'interest': {
        const { contentId } = req.body as MessageBodies['interest'];
        authorise(deps, conn, contentId);
        deps.broadcaster.subscribe(contentId, conn);
        const have = deps.bitfield(contentId);
        return { body: { blocks: have.size, seed: have.complete, ...deps.uploads.load() }, payload: have.toBuffer() };
      }
      case 'load': {
        authorise(deps, conn, (req.body as MessageBodies['load']).contentId);
        return { body: { ...deps.uploads.load() } };
      }
      case 'cancel': {
        const { contentId, index } = req.body as MessageBodies['cancel'];
        waiting.get(conn)?.get(`${contentId}/${index}`)?.abort(new CanopyError('ERR_TIMEOUT', 'cancelled'));
        return;
      }
      case 'have':
      case 'seeded': {
        const { contentId, index } = req.body as MessageBodies['have'];
        deps.onHave(conn.remoteId, contentId, index, req.type === 'seeded');
        return;
      }
      case 'announce': {
        const { contentId, manifest, access } = req.body as MessageBodies['announce'];
        if (conn.remoteId !== deps.rootId()) throw new CanopyError('ERR_NOT_AUTHORISED', 'announcements are accepted only from the root');
        deps.onAnnounce(contentId, manifest, access);
        return;
      }
      case 'trust-update': {
        // Signed statements, checked against the CA whoever relays them; still accepted from the root only, because
        // verifying thousands of signatures is work a member must not be able to impose on its peers.
        if (conn.remoteId !== deps.rootId()) throw new CanopyError('ERR_NOT_AUTHORISED', 'trust updates are accepted only from the root');
        deps.onTrustUpdate(req.body as MessageBodies['trust-update']);
        return;
      }
      case 'withdraw': {
        // Only the root, proven by its certificate, speaks for publishers and admins (its withdraw API needs a publish-scoped token).
        if (conn.remoteId !== deps.rootId()) throw new CanopyError('ERR_NOT_AUTHORISED', 'withdrawals are accepted only from the root');
        deps.onWithdraw(req.body as MessageBodies['withdraw']);
        return;
      }
      case 'tree': {
        const { from, m } = req.body as MessageBodies['tree'];
        // The sender's id in a tree message is the one its certificate proves.
        if (from.id !== conn.remoteId) throw new CanopyError('ERR_NOT_AUTHORISED', `tree message claims to come from ${from.id.slice(0, 16)}, but the connection is node ${conn.remoteId}`);
        deps.onTree(conn.remoteId, from, m);
        return;
      }
      case 'ping':
        return { body: {} };
      case 'node-info':
        if (conn.remoteId !== deps.rootId() || !deps.storeStats) throw new CanopyError('ERR_NOT_AUTHORISED', 'node figures are told only to the root');
        return { body: { store: deps.storeStats() } };
      default:
        return rootOnly(req, deps, names.get(conn) ?? conn.remoteId);
    }
  };
}

/** Policy is enforced where data leaves: only the root, the origin and qualified nodes get a content's blocks or bitfield, and only while it is live and this node has synced its catalog. */
function authorise(deps: PeerServiceDeps, conn: PeerConnection, contentId: string): Manifest {
  const manifest = deps.catalog.require(contentId);
  deps.checkServing(contentId);
  const privileged = conn.remoteId === deps.rootId() || conn.remoteId === manifest.origin;
  if (!privileged && !matches(parseCriteria(manifest.criteria), conn.remoteAttrs, conn.remoteId)) {
    deps.log.warn('refused block to unqualified node', { contentId, node: conn.remoteId, attrs: conn.remoteAttrs });
    throw new CanopyError('ERR_NOT_AUTHORISED', `node ${conn.remoteId} does not meet the criteria "${manifest.criteria}" of ${contentId.slice(0, 12)}`);
  }
  return manifest;
}

async function rootOnly(req: IncomingRequest, deps: PeerServiceDeps, name: string): Promise<{ body: Record<string, unknown> } | undefined> {
  const registry = deps.registry;
  if (!registry) throw new CanopyError('ERR_WIRE_PROTOCOL', `${req.type} is answered only by the root`);
  switch (req.type) {
    case 'renew': {
      const { publicKey } = req.body as MessageBodies['renew'];
      const cert = await deps.renewCertificate!(req.conn.remoteId!, publicKey);
      deps.log.info('certificate renewed', { node: req.conn.remoteId });
      return { body: { cert } };
    }
    case 'join': {
      const member = registry.join(req.conn, name, req.body as MessageBodies['join']);
      deps.log.info('node joined', { node: member.nodeId, name: member.name, attrs: member.attrs });
      deps.onJoined?.(req.conn);
      // The catalog sync: live contents, and every withdrawal (the node applies these before serving).
      const catalog = deps.catalog.list().filter((c) => deps.catalog.isLive(c.contentId));
      const withdrawn = deps.signWithdrawal ? deps.catalog.withdrawals().map((w) => deps.signWithdrawal!({ contentId: w.contentId, at: w.at, reason: w.reason })) : [];
      const publishers = deps.publisherList?.();
      return { body: { rootId: deps.identity.nodeId, catalog: catalog.map((c) => ({ contentId: c.contentId, manifest: c.manifest, access: deps.accessStatement(c.contentId) })), withdrawn, ...(publishers ? { publishers } : {}) } };
    }
    case 'progress': {
      const { contentId, haveBlocks, haveBytes, fetchedBytes, stuck, stuckDetail } = req.body as MessageBodies['progress'];
      const manifest = deps.catalog.get(contentId);
      if (manifest && deps.catalog.isLive(contentId)) registry.report(req.conn.remoteId!, contentId, haveBlocks, haveBytes, manifest.blocks.length, { fetchedBytes, stuck, stuckDetail });
      return undefined;
    }
    case 'holders': {
      const { contentId } = req.body as MessageBodies['holders'];
      const manifest = deps.catalog.get(contentId);
      const holders: Holder[] = manifest ? registry.candidateHolders(contentId, parseCriteria(manifest.criteria)).filter((h) => h.nodeId !== req.conn.remoteId) : [];
      // The root lists itself as soon as it holds any block: a content published from the
      // browser is fetched while its upload is still arriving here.
      const own = manifest ? deps.catalog.holding(contentId) : undefined;
      if (own && own.haveBlocks > 0) holders.push({ nodeId: deps.identity.nodeId, peer: deps.selfPeer(), complete: own.complete });
      return { body: { holders } };
    }
    default:
      throw new CanopyError('ERR_WIRE_PROTOCOL', `unexpected message ${req.type}`);
  }
}
