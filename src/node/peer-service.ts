/**
 * Answers what peers ask of this node. Every connection must start with `hello`, whose
 * sender is attested: its node id is its TLS certificate's, its attributes are the
 * root-signed record it presents (or a newer one we know). Control tree messages (`tree`)
 * go to the tree core and `ping` answers round-trip probes. Blocks are sent only to
 * requesters whose attested attributes meet the content's criteria (the root and the
 * content's origin excepted): policy is enforced where data leaves.
 */
import { matches, parseCriteria } from '../core/criteria.js';
import { CanopyError, isCanopyError } from '../core/errors.js';
import type { RootPeerMessages } from '../root/root-peer-messages.js';
import type { IncomingRequest, RequestHandler } from '../wire/peer-connection.js';
import { PROTOCOL_VERSION, type MessageBodies } from '../wire/messages.js';
import type { BlockStore } from '../store/block-store.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../core/logger.js';
import type { LocalIdentity, PeerAuthenticator } from '../wire/peer-pool.js';
import type { Manifest } from '../core/manifest.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { Bitfield } from '../swarm/bitfield.js';
import type { HaveBroadcaster } from '../swarm/have-broadcaster.js';
import type { UploadLimiter } from '../swarm/upload-limiter.js';
import { pieceBytes, slices } from '../swarm/relay-feed.js';
import type { RelayFeeds } from '../swarm/relay-feeds.js';
import type { BlockBytes, OwnedPiece } from '../core/block-bytes.js';

export interface PeerServiceDeps {
  identity: LocalIdentity;
  auth: PeerAuthenticator;
  catalog: Catalog;
  store: BlockStore;
  rootId: () => string | undefined;
  /** The root's answers to `join`, `progress`, `holders` and `renew` (root/root-peer-messages.ts); absent on a member. */
  rootMessages: RootPeerMessages | undefined;
  onWithdraw: (body: MessageBodies['withdraw']) => void;
  /** Throws unless this node may serve the content now (catalog synced, content live). */
  checkServing: (contentId: string) => void;
  /** The blocks of a content this node holds. */
  bitfield: (contentId: string) => Bitfield;
  uploads: UploadLimiter;
  /** Blocks this node is receiving now, relayed to requesters that take pieces (cut-through). */
  relays?: () => RelayFeeds;
  broadcaster: HaveBroadcaster;
  /** A holder we listen to has a new block, or (a seed) has just sent one to someone. */
  /** `declined`: a seed's `seeded` saying it declined the block's first copy to that member (first-copy.ts). */
  onHave: (peerId: string, contentId: string, index: number, seeded: boolean, declined?: string) => void;
  onAnnounce: (contentId: string, manifest: unknown, access?: unknown) => void;
  onTrustUpdate: (update: MessageBodies['trust-update']) => void;
  /** A control-tree message from the peer `connId` (its certificate's node id). */
  onTree: (connId: string, from: MessageBodies['tree']['from'], m: unknown) => void;
  /** This node's store figures, told only to the root (volumes and paths are the operator's business). */
  storeStats?: () => unknown;
  log: Logger;
}

export function createPeerService(deps: PeerServiceDeps): RequestHandler {
  const state: PeerServiceState = { names: new WeakMap(), waiting: new WeakMap() };
  return (req: IncomingRequest) => handlePeerRequest(deps, state, req);
}

interface PeerServiceState {
  /** The name each peer gave in its hello, for the root's messages. */
  names: WeakMap<object, string>;
  /** Block requests still waiting for an upload slot, per connection, so `cancel` can drop them. */
  waiting: WeakMap<PeerConnection, Map<string, AbortController>>;
}

/** The message table: one arm per peer message type (the size rule's named exception). */
async function handlePeerRequest(deps: PeerServiceDeps, { names, waiting }: PeerServiceState, req: IncomingRequest): ReturnType<RequestHandler> {
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
    case 'get-block':
      return sendBlock(deps, waiting, conn, req.body as MessageBodies['get-block']);
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
      const { contentId, index, declined } = req.body as MessageBodies['seeded'];
      deps.onHave(conn.remoteId, contentId, index, req.type === 'seeded', declined);
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
      if (!deps.rootMessages) throw new CanopyError('ERR_WIRE_PROTOCOL', `${req.type} is answered only by the root`);
      return deps.rootMessages(req, names.get(conn) ?? conn.remoteId);
  }
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

/** A block, once an upload slot is free (a `cancel` from the requester drops the wait). */
async function sendBlock(deps: PeerServiceDeps, waiting: WeakMap<PeerConnection, Map<string, AbortController>>, conn: PeerConnection, body: MessageBodies['get-block']): Promise<{ body?: { relayed: true }; payload?: Buffer; pieces?: AsyncIterable<BlockBytes | OwnedPiece>; sent: () => void; flushed?: () => void }> {
  const { contentId, index } = body;
  deps.log.debug('block asked', { contentId, index, from: conn.remoteId });
  const manifest = authorise(deps, conn, contentId);
  const block = manifest.blocks[index];
  if (!block) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${contentId.slice(0, 12)} has no block ${index}`);
  // Checked before the wait for a slot and again after it (the store may fail meanwhile).
  const fault = unservable(deps, contentId, index, block.hash);
  if (fault) throw fault;
  const key = `${contentId}/${index}`;
  const firstCopyOf = firstCopy(deps, conn, manifest, contentId, index);
  let mine = waiting.get(conn);
  if (!mine) waiting.set(conn, (mine = new Map()));
  const abort = new AbortController();
  mine.set(key, abort);
  let release: (measured?: boolean) => void;
  try {
    release = await deps.uploads.acquire(block.length, abort.signal, conn.remoteId, firstCopyOf);
  } catch (err) {
    if (isCanopyError(err, 'ERR_BUSY')) throw err;
    throw new CanopyError('ERR_TIMEOUT', `request for block ${index} was cancelled`);
  } finally {
    if (mine.get(key) === abort) mine.delete(key);
  }
  try {
    const late = unservable(deps, contentId, index, block.hash);
    if (late) throw late;
    if (body.pieces && !deps.store.has(block.hash)) {
      // Not held yet, but perhaps arriving: relayed as it comes, never from the store (relay-feed.ts).
      const feed = deps.relays?.().get(contentId, index);
      // Sent at the pace the block arrives here: it says nothing of the downloader's own pace.
      // `flushed`: the feed's bytes (the requester's pooled buffers) are free of this reply once the socket is done with it.
      const reader = feed?.reader();
      if (reader) return { body: { relayed: true }, pieces: reader.pieces, sent: () => release(false), flushed: reader.done };
      if (deps.relays?.().isLost(contentId, index)) throw new CanopyError('ERR_RELAY_ABORTED', `block ${index} of ${contentId.slice(0, 12)} was lost while arriving here; ask again once it is held`);
    }
    // Asked in pieces, a trusted block is read a chunk at a time as the socket takes it: the
    // upload holds a piece or two in the socket, not the whole block (store/block-reads.ts).
    const read = body.pieces ? deps.store.pieces(block.hash, pieceBytes(block.length)) : undefined;
    if (read) {
      if (deps.bitfield(contentId).complete) deps.broadcaster.sent(contentId, index);
      return { pieces: read, sent: release };
    }
    // From the block pool; back to it once the socket is done with the bytes (`flushed`).
    const lease = await deps.store.getLease(block.hash);
    const payload = lease.bytes;
    const flushed = () => lease.release();
    if (deps.bitfield(contentId).complete) deps.broadcaster.sent(contentId, index);
    deps.log.debug('sending block', { contentId, index, to: conn.remoteId });
    // In pieces when asked, so the requester can relay it on while the rest arrives.
    return body.pieces ? { pieces: inPieces(payload), sent: release, flushed } : { payload, sent: release, flushed };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * At a content's origin, the first copy of a block goes to a downloader that passes it on
 * fast (first-copy.ts): to a slow drain it is declined (and the downloaders are told), and
 * to anyone while it is on its way to another. Returns the block's key when this request
 * would carry its first copy (the limiter then declines it to others meanwhile).
 */
function firstCopy(deps: PeerServiceDeps, conn: PeerConnection, manifest: Manifest, contentId: string, index: number): string | undefined {
  if (manifest.origin !== deps.identity.nodeId) return undefined;
  const key = `${contentId}/${index}`;
  const first = !deps.broadcaster.hasSent(contentId, index);
  const declined = deps.uploads.declinesFirstCopy(conn.remoteId, key, first);
  if (declined === 'slow' && conn.remoteId) deps.broadcaster.declined(contentId, index, conn.remoteId);
  if (declined === 'elsewhere') throw new CanopyError('ERR_FIRST_COPY_ELSEWHERE', `the first copy of block ${index} of ${contentId.slice(0, 12)} is on its way to another downloader: take it from that one, or ask again`);
  if (declined) throw new CanopyError('ERR_FIRST_COPY_ELSEWHERE', `block ${index} of ${contentId.slice(0, 12)} goes first to a faster downloader: take it from a peer that has it, or ask again`);
  return first ? key : undefined;
}

/**
 * A block this node neither holds nor is receiving, while its store can keep nothing (every
 * volume read-only or failed): ERR_STORE_IO at once, so the asker turns to other holders and,
 * after two such answers, drops this node like a dead one (issue 24, item 3). Blocks held on
 * a read-only volume are still served.
 */
function unservable(deps: PeerServiceDeps, contentId: string, index: number, hash: string): CanopyError | undefined {
  if (deps.store.has(hash) || deps.relays?.().get(contentId, index)) return undefined;
  const fault = deps.store.writeFault();
  return fault && new CanopyError('ERR_STORE_IO', `block ${index} of ${contentId.slice(0, 12)} is not held here, and this node's store cannot keep blocks: ${fault.message}`);
}

async function* inPieces(block: Buffer): AsyncGenerator<BlockBytes> {
  yield* slices([block], 0, block.length, pieceBytes(block.length));
}
