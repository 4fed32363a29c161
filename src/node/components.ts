/**
 * The components of one node, built once, in dependency order, from the config and the
 * node's credentials (the `(components, init)` shape of js-libp2p: each part receives the
 * parts it needs, nothing reaches back into the node). Root-only parts (root/) exist only
 * on the root, built by root-kit.ts, which a member never loads; a member has a root link
 * instead. node.ts starts and stops what is built here.
 */
import type http from 'node:http';
import { CanopyError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { Catalog } from '../catalog/catalog.js';
import { ApiTokens, apiTokensFile } from '../api/api-tokens.js';
import { Metrics } from '../ops/metrics.js';
import { BlockStore } from '../store/block-store.js';
import { LOCAL_INGEST_ID } from '../store/store-types.js';
import { EdgeAccessStore } from '../security/edge-access-store.js';
import type { NodeSecurity } from '../security/node-security.js';
import { Downloader } from '../swarm/downloader.js';
import { HaveBroadcaster } from '../swarm/have-broadcaster.js';
import { UploadLimiter } from '../swarm/upload-limiter.js';
import { BlockFetcher } from '../vfile/block-fetcher.js';
import type { FtpServer } from '../edge/ftp/ftp-server.js';
import type { Holder } from '../wire/messages.js';
import { PROTOCOL_VERSION, type HelloBody } from '../wire/messages.js';
import type { PeerConnection, RequestHandler } from '../wire/peer-connection.js';
import { PeerPool, type LocalIdentity } from '../wire/peer-pool.js';
import type { Transport } from '../wire/transport.js';
import type { RootParts } from '../root/root-service.js';
import { saveKnownRoots } from './known-roots.js';
import type { OpenedRootState } from '../root/state/open-root-state.js';
import type * as RootKitModule from './root-kit.js';
import { mayServe, qualifies, type Self } from './admission.js';
import { AnnouncementIntake } from './announcement-intake.js';
import type { NodeConfig } from './config.js';
import { ContentLifecycle } from './content-lifecycle.js';
import { Holdings } from './holdings.js';
import { countingStore, countServed } from './metering.js';
import { createPeerService } from './peer-service.js';
import { RootLink } from './root-link.js';
import { OwnedOutsideCriteria } from './owned-outside-criteria.js';
import { RevokedSignal } from './revoked-signal.js';
import type { TreeLink } from './tree-link.js';
import { trustChanges } from './trust-changes.js';
import type { TrustUpdate } from '../security/peer-trust.js';
import { buildServers, type ServerParts } from './servers.js';
import type { FtpUsers } from '../edge/ftp/ftp-users.js';
import type { RunTime } from './run-time.js';
import { HttpsSetup } from './https-setup.js';
import { isHttps } from '../http/web-server.js';

/** root-kit.ts as a value: the root's parts, loaded by CanopyNode.open on a root only. */
export type RootKit = typeof RootKitModule;

/** What a root is built with: its kit, and its state (the embedded file or PostgreSQL) when opened. */
export interface RootSetup {
  kit: RootKit;
  state: OpenedRootState | undefined;
}

export interface Components extends ServerParts {
  transport: Transport;
  identity: LocalIdentity;
  rootLink: RootLink | undefined;
  holdings: Holdings;
  onTrustUpdate: (update: TrustUpdate) => void;
  lifecycle: ContentLifecycle;
  pool: PeerPool;
  /** One handler serves both directions: requests on connections we dialled and on ones we accepted. */
  handler: RequestHandler;
  downloader: Downloader;
  apiServer: http.Server;
  edgeServer: http.Server;
  ftpServer: FtpServer;
  s3Server: http.Server;
  /** The upload cap and FTP accounts, changed at run time by a reload (SIGHUP). */
  uploadLimiter: UploadLimiter;
  ftpUsers: FtpUsers;
  /** Throws unless this node may serve the content now (catalog synced, content live). */
  checkServing: (contentId: string) => void;
  /** The root's id: this node's on the root, learnt from the root link or the tree on a member. */
  rootId: () => string | undefined;
  /** Resolves when the root says this node is revoked (./revoked-signal.ts). */
  revokedSignal: RevokedSignal;
  /** Key and certificate of the servers that speak HTTPS, set before they listen. */
  https: HttpsSetup;
}


/** Everything but the servers and the network parts: stores, catalog, policy, root pieces. */
function buildLocal(config: NodeConfig, security: NodeSecurity, transport: Transport, root: RootSetup | undefined) {
  const identity: LocalIdentity = {
    nodeId: security.nodeId,
    name: config.name,
    get attrs() {
      return security.attrs;
    },
  };
  const log = createLogger({ node: config.name, nodeId: identity.nodeId }, process.env.CANOPY_LOG_LEVEL ? undefined : config.logLevel);
  const store = new BlockStore(config.dataDir, config.volumes, { quota: config.quota, evictionPolicy: config.evictionPolicy, log: log.child({ component: 'store' }) });
  const catalog = new Catalog(store);
  // Before anything reads the catalog: a root on PostgreSQL starts from what the database holds.
  if (root?.state) root.kit.attachCatalog(root.state.state, root.state.snapshot, catalog);
  const access = new EdgeAccessStore(store.index, security.trust.caPublicKey);
  const self = (): Self => ({ nodeId: identity.nodeId, attrs: identity.attrs, prefetch: config.prefetch, localIngestId: store.index.getKv(LOCAL_INGEST_ID) ?? undefined });
  // A root on PostgreSQL keeps its API tokens in the database: one token works on every root.
  const opened = root?.state;
  const apiTokens = new ApiTokens(opened ? opened.state.documentStore('api-tokens', opened.snapshot, apiTokensFile(config.dataDir)) : config.dataDir);
  apiTokens.ensureAdminToken(config.apiTokenFile);
  // Issue 16: a local ingest outside the criteria is kept (and said so); a revoked node stops.
  const ownedOutside = new OwnedOutsideCriteria(log);
  const revokedSignal = new RevokedSignal(log);
  return { config, security, transport, identity, log, metrics: new Metrics(), store, catalog, access, self, apiTokens, ownedOutside, revokedSignal, root };
}

type Local = ReturnType<typeof buildLocal>;

/** The peer side: who we listen to and answer, the root link, what we hold, how we fetch. */
function buildPeer(l: Local, run: RunTime) {
  const { config, security, catalog, store, log, identity } = l;
  const tree: { link?: TreeLink } = {};
  const broadcaster = new HaveBroadcaster();
  const lifecycle = new ContentLifecycle({
    catalog,
    store,
    cancelDownload: async (id) => {
      downloader.cancel(id);
      await downloader.settled(id);
      downloader.forget(id);
      holdings.drop(id);
    },
    onRetired: (id) => {
      root?.registry.forget(id);
      broadcaster.forget(id);
    },
    log,
  });
  const root = l.root?.kit.buildRoot(l, lifecycle, tree, (id, index) => holdings.stored(id, index));
  const onTrustUpdate = trustChanges({ security, catalog, holdings: () => holdings, intake: () => intake, self: l.self, log });
  const rootId = (): string | undefined => (config.isRoot ? identity.nodeId : rootLink?.rootId ?? tree.link?.rootId);
  const checkServing = (contentId: string): void => {
    const verdict = mayServe({ synced: intake.synced, live: catalog.isLive(contentId) });
    if (verdict === 'not-synced') throw new CanopyError('ERR_NOT_SYNCED', 'this node is still learning the catalog from the network');
    if (verdict === 'not-live') throw new CanopyError('ERR_CONTENT_WITHDRAWN', `content ${contentId.slice(0, 12)} is ${catalog.state(contentId)}`);
  };
  const { auth, handler, uploadLimiter } = peerHandler(l, run, { root, tree, broadcaster, onTrustUpdate, checkServing, rootId, holdings: () => holdings, downloader: () => downloader, intake: () => intake });
  const pool = new PeerPool(l.transport, auth, handler);
  const rootLink: RootLink | undefined = config.join && !config.isRoot ? memberRootLink(l, config.roots, pool, run, () => intake, () => holdings) : undefined;
  const findHolders = (id: string): Promise<Holder[]> => (rootLink ? rootLink.holders(id) : Promise.resolve(root?.registry.completeHolders(id) ?? []));
  const downloader = buildDownloader(l, pool, findHolders, broadcaster, () => holdings);
  const holdings: Holdings = new Holdings({ catalog, store, broadcaster, downloader: () => downloader, rootLink, self: l.self, synced: () => intake.synced, ownedOutside: l.ownedOutside, log });
  const intake: AnnouncementIntake = new AnnouncementIntake({
    catalog,
    store,
    access: l.access,
    lifecycle,
    holdings,
    caPublicKey: security.trust.caPublicKey,
    publishers: { isAuthorised: (key) => security.trust.isAuthorisedPublisher(key), haveList: () => security.trust.publishers() !== null },
    self: l.self,
    rootId,
    onTrustUpdate,
    synced: config.isRoot,
    log,
  });
  return { root, rootLink, holdings, intake, onTrustUpdate, lifecycle, pool, handler, downloader, tree, checkServing, rootId, findHolders, uploadLimiter };

}

/** The swarm side of a node: what it fetches, from whom, and what it tells when a block is stored. */
function buildDownloader(l: Local, pool: PeerPool, findHolders: (id: string) => Promise<Holder[]>, broadcaster: HaveBroadcaster, holdings: () => Holdings): Downloader {
  const { config, store, log, identity } = l;
  return new Downloader({
    selfId: identity.nodeId,
    store: countingStore(l.metrics, store),
    pool,
    findHolders,
    bitfield: (id) => holdings().bitfield(id),
    onStored: (id, m, index) => {
      holdings().bitfield(id).set(index);
      broadcaster.have(id, index);
      holdings().reportProgress(id, m, holdings().bitfield(id).complete);
    },
    onStuck: (id, stuck) => holdings().onStuck(id, stuck),
    onReceived: (bytes, outcome) => l.metrics.inc('canopy_swarm_block_bytes_total', { outcome }, bytes),
    onRelaying: (id, index, started) => (started ? broadcaster.relaying(id, index) : broadcaster.relayLost(id, index)),
    log,
    downloadCap: config.downloadCap,
    prefetch: config.prefetch,
    maxInFlight: config.downloadConcurrency,
    maxInFlightPerPeer: Math.max(2, Math.ceil(config.downloadConcurrency / 4)),
  });
}

/** What the peer service is wired to; the parts built after it are read at call time. */
interface PeerWiring {
  root: RootParts | undefined;
  tree: { link?: TreeLink };
  broadcaster: HaveBroadcaster;
  onTrustUpdate: (update: TrustUpdate) => void;
  checkServing: (contentId: string) => void;
  rootId: () => string | undefined;
  holdings: () => Holdings;
  downloader: () => Downloader;
  intake: () => AnnouncementIntake;
}

/** The answers to peers (peer-service.ts), metered, and the hello this node says. */
function peerHandler(l: Local, run: RunTime, h: PeerWiring) {
  const { config, security, catalog, store, log, identity } = l;
  const { root } = h;
  const auth = {
    hello: (): HelloBody => ({ nodeId: identity.nodeId, name: config.name, record: security.record, version: PROTOCOL_VERSION }),
    attest: (conn: PeerConnection, record: unknown) => security.attest(conn, record),
  };
  const uploadLimiter = new UploadLimiter(config.uploadCap);
  const handler = countServed(l.metrics, createPeerService({
    identity,
    auth,
    catalog,
    store,
    rootId: h.rootId,
    rootMessages: root && l.root?.kit.rootMessages(l, root, run),
    bitfield: (id) => h.holdings().bitfield(id),
    uploads: uploadLimiter,
    relays: () => h.downloader().relays,
    broadcaster: h.broadcaster,
    onHave: (peer, id, index, seeded, declined) => h.downloader().onHave(peer, id, index, seeded, declined),
    onAnnounce: (id, m, access) => h.intake().onAnnounce(id, m, access),
    onTrustUpdate: h.onTrustUpdate,
    onWithdraw: (w) => h.intake().applyWithdrawal(w, 'peer'),
    checkServing: h.checkServing,
    onTree: (connId, from, m) => h.tree.link?.receive(connId, from, m),
    storeStats: () => store.stats(),
    log,
  }));
  return { auth, handler, uploadLimiter };
}

/** A member's link to the root: registration, catalog sync, progress, holders. */
function memberRootLink(l: Local, roots: NodeConfig['roots'], pool: PeerPool, run: RunTime, intake: () => AnnouncementIntake, holdings: () => Holdings): RootLink {
  return new RootLink({
    pool,
    roots,
    onRootChanged: (root) => run.rootChanged(root),
    onRoots: (known) => saveKnownRoots(l.config.dataDir, known),
    joinBody: () => {
      // What the member knows as the join leaves: only those can be missing from the sync for being out of service.
      intake().joining();
      const a = run.addresses();
      return { peer: a.peer, api: a.api, http: a.http, prefetch: l.self().prefetch };
    },
    onCatalog: (reply) => intake().onCatalogSync(reply),
    revoked: l.revokedSignal,
    onJoined: () => {
      l.catalog.list().forEach((c) => holdings().reportProgress(c.contentId, c.manifest, true));
      run.renewIfDue();
    },
    log: l.log,
  });
}

/** `root` is given on a root only (CanopyNode.open loads its kit): a member never loads the root's modules. */
export function buildComponents(config: NodeConfig, security: NodeSecurity, transport: Transport, run: RunTime, root?: RootSetup): Components {
  if (config.isRoot && !root) throw new Error('a root is built with its root kit (root-kit.ts, loaded by CanopyNode.open)');
  const l = buildLocal(config, security, transport, root);
  const p = buildPeer(l, run);
  const fetchNow = async (contentId: string, index: number, deadline?: number): Promise<Buffer | undefined> => {
    const manifest = l.catalog.require(contentId);
    p.checkServing(contentId);
    if (!qualifies(manifest, l.self())) throw new CanopyError('ERR_NOT_AUTHORISED', `this node does not meet the criteria "${manifest.criteria}" of ${contentId.slice(0, 12)}`);
    return p.downloader.fetchNow(contentId, manifest, index, deadline);
  };
  // The edge's on-demand reads take the swarm's path: one way to fetch a block.
  const fetcher = new BlockFetcher({ store: l.store, manifestOf: (id) => l.catalog.require(id), fetchNow });
  const parts = { ...l, ...p, fetcher, fetchNow };
  const servers = buildServers(parts, run);
  const https = new HttpsSetup({ config, security, log: l.log, pool: p.pool, servers: [servers.apiServer, servers.edgeServer].filter(isHttps) });
  return { ...parts, ...servers, https };
}
