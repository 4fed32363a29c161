/**
 * The composition root of `canopy node`: builds the store, catalog, peer service,
 * downloader, root link (or root registry), admin API and HTTP edge, starts them in order
 * and stops them in reverse. Nothing else wires components together.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Attributes } from '../core/attributes.js';
import { formatCriteria, matches, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { storeRoutes } from '../api/store-routes.js';
import type { AttributeRecord } from '../security/attribute-record.js';
import type { RevocationList } from '../security/revocation-list.js';
import type { PublisherList } from '../security/publisher-list.js';
import { PublisherAuthority } from '../security/publisher-authority.js';
import { publisherRoutes } from '../api/publisher-routes.js';
import { ApiTokens } from '../api/api-tokens.js';
import { createJoinToken } from '../security/join-token.js';
import { signWithdrawal, verifyWithdrawal } from '../security/withdrawal.js';
import { createAdminApi, type PublishRequest, type RootApi } from '../api/admin-api.js';
import { blockFetchRoutes } from '../api/block-fetch-route.js';
import { treeRoutes, type TreeApi } from '../api/tree-routes.js';
import { criteriaRoutes } from '../api/criteria-routes.js';
import { overviewRoutes } from '../api/overview-routes.js';
import { publishRoutes } from '../api/publish-routes.js';
import { webRoutes } from '../api/web-routes.js';
import { lifecycleRoutes } from '../api/lifecycle-routes.js';
import { Metrics } from '../ops/metrics.js';
import { nodeGauges, type ContentSpread } from '../ops/node-metrics.js';
import { createFtpServer, type FtpServer } from '../edge/ftp/ftp-server.js';
import { FtpUsers } from '../edge/ftp/ftp-users.js';
import { loadTlsContext } from '../edge/ftp/ftp-tls.js';
import { createHttpEdge, openFile, type HttpEdgeDeps } from '../edge/http/http-edge.js';
import { receiveSignedUpload } from '../ingest/receive-upload.js';
import { spoolAndIngest } from '../ingest/spool-ingest.js';
import { loadOrCreateKeyFile, publicKeyOf, type PublisherKey } from '../ingest/publisher-key.js';
import { BlockStore, LOCAL_INGEST_ID, type StripeHint, type VolumeFailure } from '../store/block-store.js';
import { Bitfield } from '../swarm/bitfield.js';
import { Downloader, type Stuck } from '../swarm/downloader.js';
import { HaveBroadcaster } from '../swarm/have-broadcaster.js';
import { UploadLimiter } from '../swarm/upload-limiter.js';
import { BlockFetcher } from '../vfile/block-fetcher.js';
import { BlockCache } from '../vfile/block-cache.js';
import { SequentialReads } from '../vfile/sequential-reads.js';
import { contentStatus } from './content-status.js';
import { RootRegistry } from '../tree/root-registry.js';
import { historyStatuses, liveContents, liveHoldings } from '../ops/content-views.js';
import { startHistoryRetention } from '../ops/history-retention.js';
import type { Holder } from '../wire/messages.js';
import { PeerConnection, type RequestHandler } from '../wire/peer-connection.js';
import { PeerPool, type LocalIdentity } from '../wire/peer-pool.js';
import { listenOn } from '../wire/tcp-transport.js';
import { NodeSecurity } from '../security/node-security.js';
import { readIfExists } from '../security/secret-file.js';
import { signAccess, signUrl, type AccessMode, type AccessStatement } from '../security/content-access.js';
import { EdgeAccessStore } from '../security/edge-access-store.js';
import type { TrustUpdate } from '../security/peer-trust.js';
import { PROTOCOL_VERSION, type HelloBody } from '../wire/messages.js';
import { formatAddress, type Listener, type PeerAddress, type Transport } from '../wire/transport.js';
import type { JoinReply, MessageBodies } from '../wire/messages.js';
import { Catalog } from './catalog.js';
import { ContentLifecycle } from './content-lifecycle.js';
import type { NodeConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createPeerService } from './peer-service.js';
import { RootLink } from './root-link.js';
import { TreeLink } from './tree-link.js';
import { UploadService } from './upload-service.js';
import { HeldAnnouncements } from './held-announcements.js';

const PROGRESS_INTERVAL_MS = 200;
/** An accepted connection that has not said a valid hello by then is closed. */
export const HELLO_TIMEOUT_MS = 10_000;
/** How often a node checks whether its certificate needs renewing (also checked on every join). */
export const RENEW_CHECK_MS = 12 * 3_600_000;
/** Block size the browser publishing page cuts files into unless the node config sets one (the page does not analyse). */
const PAGE_BLOCK_SIZE = 4 * 2 ** 20;

export interface NodeAddresses {
  peer: PeerAddress;
  api: string;
  http: string;
  ftp: string;
}

export class CanopyNode {
  readonly identity: LocalIdentity;
  readonly store: BlockStore;
  readonly catalog: Catalog;
  readonly access: EdgeAccessStore;
  readonly registry: RootRegistry | undefined;
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly uploads: UploadService | undefined;
  /** The root's set of authorised publisher keys (root only). */
  readonly publishers: PublisherAuthority | undefined;
  private readonly pool: PeerPool;
  /** One handler serves both directions: requests on connections we dialled and on ones we accepted. */
  private readonly handler: RequestHandler;
  private readonly downloader: Downloader;
  /** On-demand fetch of single blocks for edge readers (the swarm scheduler may take this over). */
  readonly fetcher: BlockFetcher;
  private readonly rootLink: RootLink | undefined;
  private readonly apiServer: http.Server;
  readonly apiTokens: ApiTokens;
  private readonly edgeServer: http.Server;
  private readonly ftpServer: FtpServer;
  private listener: Listener | undefined;
  /** The control tree; created once the peer port is known (it is part of this node's address). */
  private tree: TreeLink | undefined;
  private stopRetention: (() => void) | undefined;
  private stopping = false;
  private readonly lastReport = new Map<string, number>();
  private readonly stuck = new Map<string, Stuck>();
  private readonly lifecycle: ContentLifecycle;
  /** Whether the catalog (withdrawals included) has been learnt from the root; the root always has it. */
  private synced: boolean;
  private readonly bitfields = new Map<string, Bitfield>();
  private readonly broadcaster = new HaveBroadcaster();
  private renewTimer: NodeJS.Timeout | undefined;
  /** Announcements from publisher keys not (yet) in this node's list, judged again when a newer list arrives. */
  private readonly held = new HeldAnnouncements();

  private readonly transport: Transport;

  /** Loads or obtains this node's credentials (creating the CA on a root's first start, enrolling with the token otherwise), then builds the node. */
  static async open(config: NodeConfig): Promise<CanopyNode> {
    const log = createLogger({ node: config.name });
    const security = await NodeSecurity.prepare({
      dataDir: config.dataDir,
      isRoot: config.isRoot,
      rootAttrs: config.attrs,
      token: config.token,
      join: config.join,
      onRefused: (reason, remote) => log.warn('refused peer connection', { reason, remote }),
      onEnrolment: (r) => (r.err ? log.warn('refused enrolment', { err: r.err }) : log.info('node enrolled', { enrolled: r.nodeId })),
    });
    return new CanopyNode(config, security);
  }

  constructor(
    readonly config: NodeConfig,
    readonly security: NodeSecurity,
    transport?: Transport,
  ) {
    this.transport = transport ?? security.transport();
    this.identity = {
      nodeId: security.nodeId,
      name: config.name,
      get attrs() {
        return security.attrs;
      },
    };
    this.log = createLogger({ node: config.name, nodeId: this.identity.nodeId }, process.env.CANOPY_LOG_LEVEL ? undefined : config.logLevel);
    this.store = new BlockStore(config.dataDir, config.volumes, { quota: config.quota, evictionPolicy: config.evictionPolicy, log: this.log.child({ component: 'store' }) });
    const auth = {
      hello: (): HelloBody => ({ nodeId: this.identity.nodeId, name: config.name, record: security.record, version: PROTOCOL_VERSION }),
      attest: (conn: PeerConnection, record: unknown) => security.attest(conn, record),
    };
    this.catalog = new Catalog(this.store);
    this.access = new EdgeAccessStore(this.store.index, security.trust.caPublicKey);
    this.registry = config.isRoot ? new RootRegistry() : undefined;
    this.synced = config.isRoot;
    this.publishers = config.isRoot ? this.openPublishers() : undefined;
    this.handler = this.countServed(createPeerService({
      identity: this.identity,
      auth,
      catalog: this.catalog,
      store: this.store,
      registry: this.registry,
      rootId: () => (config.isRoot ? this.identity.nodeId : this.rootLink?.rootId),
      selfPeer: () => this.addresses().peer,
      bitfield: (id) => this.bitfield(id),
      uploads: new UploadLimiter(config.uploadCap),
      broadcaster: this.broadcaster,
      onHave: (peer, id, index, seeded) => this.downloader.onHave(peer, id, index, seeded),
      onAnnounce: (id, m, access) => this.onAnnounce(id, m, access),
      accessStatement: (id) => this.access.statement(id),
      onTrustUpdate: (update) => this.onTrustUpdate(update),
      renewCertificate: security.authority && ((nodeId, publicKeyPem) => security.authority!.renew(nodeId, publicKeyPem)),
      onJoined: (conn) => {
        // A node that was away learns every removal and every current record, so it cannot be fooled by a replayed older one.
        const revocations = security.trust.revocations() ?? undefined;
        const records = security.authority?.records().slice(0, 10_000) ?? [];
        const publishers = this.publishers?.list();
        void conn.notify('trust-update', { records, revocations, publishers }).catch(() => undefined);
      },
      publisherList: () => this.publishers?.list(),
      onWithdraw: (w) => this.applyWithdrawal(w, 'peer'),
      signWithdrawal: security.authority && ((w) => signWithdrawal(w, security.authority!.caKey)),
      checkServing: (id) => this.checkServing(id),
      onTree: (connId, from, m) => this.tree?.receive(connId, from, m),
      log: this.log,
    }));
    this.pool = new PeerPool(this.transport, auth, this.handler);
    this.downloader = new Downloader({
      selfId: this.identity.nodeId,
      store: this.countingStore(),
      pool: this.pool,
      findHolders: (id) => this.findHolders(id),
      bitfield: (id) => this.bitfield(id),
      onStored: (id, m, index) => {
        this.bitfield(id).set(index);
        this.broadcaster.have(id, index);
        this.reportProgress(id, m, this.bitfield(id).complete);
      },
      onStuck: (id, stuck) => this.onStuck(id, stuck),
      log: this.log,
      downloadCap: config.downloadCap,
      prefetch: config.prefetch,
      maxInFlight: config.downloadConcurrency,
      maxInFlightPerPeer: Math.max(2, Math.ceil(config.downloadConcurrency / 4)),
    });
    if (!config.isRoot) {
      this.rootLink = new RootLink({
        pool: this.pool,
        root: config.join!,
        joinBody: () => {
          const a = this.addresses();
          return { peer: a.peer, api: a.api, http: a.http };
        },
        onCatalog: (reply) => this.onCatalogSync(reply),
        onJoined: () => {
          this.catalog.list().forEach((c) => this.reportProgress(c.contentId, c.manifest, true));
          this.renewIfDue();
        },
        log: this.log,
      });
    }
    this.lifecycle = new ContentLifecycle({
      catalog: this.catalog,
      store: this.store,
      cancelDownload: async (id) => {
        this.downloader.cancel(id);
        await this.downloader.settled(id);
        this.bitfields.delete(id);
      },
      onRetired: (id) => this.registry?.forget(id),
      log: this.log,
    });
    this.apiTokens = new ApiTokens(config.dataDir);
    this.apiTokens.ensureAdminToken(config.apiTokenFile);
    const authority = security.authority;
    const tree: TreeApi = {
      view: () => this.tree?.view() ?? { attached: false },
      count: config.isRoot
        ? async (criteria) => {
            if (!this.tree) throw new CanopyError('ERR_UNREACHABLE', 'the control tree is not started yet');
            const r = await this.tree.count(criteria);
            return { ...r, nodes: Number(this.tree.view().subtreeNodes ?? 0) };
          }
        : null,
    };
    this.uploads = config.isRoot
      ? new UploadService({ dir: path.join(config.dataDir, 'uploads'), store: this.store, catalog: this.catalog, origin: this.identity.nodeId, publisherKey: () => this.ownKey().privateKey, announce: (id, m) => this.announce(id, m), metrics: this.metrics, onStored: (id, index) => this.bitfield(id).set(index) && this.broadcaster.have(id, index), log: this.log })
      : undefined;
    this.apiServer = createAdminApi({
      info: () => this.info(),
      catalog: this.catalog,
      root: this.rootApi(),
      authority: authority && {
        createJoinToken: (attrs, ttlMs) => createJoinToken({ attrs, ttlMs, caKeyPem: authority.caKey, caFingerprint: authority.caFingerprint }),
        setAttributes: (ref, attrs) => this.setAttributes(ref, attrs),
        revoke: (ref) => this.revoke(ref),
      },
      tokens: this.apiTokens,
      renewCertificate: () => this.renewCertificate(),
      log: this.log,
      metrics: () => [...this.metrics.families(), ...this.gauges()],
      routes: [
        ...lifecycleRoutes({ catalog: this.catalog, root: this.rootApi() }),
        ...criteriaRoutes(this.registry && (() => this.registry!.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs })))),
        ...publishRoutes(this.uploads, config.blockSize ?? PAGE_BLOCK_SIZE),
        ...overviewRoutes(this.overviewSource()),
        ...treeRoutes(tree),
        ...webRoutes(),
        ...(config.isRoot ? [] : blockFetchRoutes(this.catalog, (id, index, deadline) => this.fetchNow(id, index, deadline))),
        ...storeRoutes({ stats: () => this.store.stats(), recheck: () => this.store.recheckVolumes() }),
        ...publisherRoutes(
          this.publishers && {
            list: () => ({ publishers: this.publishers!.publishers(), serial: this.publishers!.list().serial }),
            add: (key, name) => this.authorisePublisher(key, name),
            remove: (key) => this.removePublisher(key),
          },
        ),
      ],
    });
    this.fetcher = new BlockFetcher({
      store: this.countingStore(),
      pool: this.pool,
      manifestOf: (id) => this.catalog.require(id),
      findHolders: (id) => this.findHolders(id),
      onStored: (id, index, bytes) => {
        this.downloader.addFetched(id, bytes);
        // Blocks fetched for edge readers are advertised to peers and known to the swarm too.
        if (this.bitfield(id).set(index)) this.broadcaster.have(id, index);
        this.downloader.markHeld(id, index);
        this.reportProgress(id, this.catalog.require(id), this.catalog.holding(id).complete);
      },
      log: this.log,
    });
    const edge: HttpEdgeDeps = { catalog: this.catalog, store: this.store, synced: () => this.synced, access: this.access, log: this.log, source: this.fetcher, mayFetch: (m) => this.qualifies(m), cache: this.countingCache(new BlockCache()), sequential: new SequentialReads() };
    this.edgeServer = createHttpEdge(edge);
    // Edge traffic is counted from the socket (headers included), so the edge stays unaware of metrics.
    this.edgeServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      const before = socket.bytesWritten;
      res.once('close', () => {
        this.metrics.inc('canopy_http_requests_total', { status: `${Math.floor(res.statusCode / 100)}xx` });
        this.metrics.inc('canopy_bytes_out_total', { class: 'http' }, Math.max(0, socket.bytesWritten - before));
      });
    });
    this.ftpServer = createFtpServer({
      catalog: this.catalog,
      // Nothing before the first catalog sync, never a withdrawn or expired content; FTP access is
      // by account: a content behind signed URLs is not shown when anonymous login is on.
      visible: (c) => this.synced && this.catalog.isLive(c.contentId) && (this.qualifies(c.manifest) || this.catalog.holding(c.contentId).complete) && (!config.ftp.anonymous || this.access.mode(c.contentId) === 'public'),
      open: (c) => openFile(edge, c.contentId, c.manifest),
      users: new FtpUsers(config.ftp.users, config.ftp.anonymous),
      secureContext: loadTlsContext(config.dataDir, config.ftp.tlsCert, config.ftp.tlsKey, (why) => this.log.warn('FTP runs without TLS: no certificate', { why })),
      requireTls: config.ftp.requireTls,
      log: this.log,
    });
    // Attributes may have changed since the last run: what the node must hold is re-decided.
    for (const c of this.catalog.list()) this.store.pin(c.contentId, this.catalog.isLive(c.contentId) && this.mustHold(c.manifest));
    this.store.on('volume:failed', (failure) => this.onVolumeFailed(failure));
    // A volume back in service holds its blocks again: report (and complete) what changed, as after a failure.
    this.store.on('volume:restored', (back) => this.onVolumeFailed(back));
    // The root must stop sending requesters here for what was just evicted.
    this.store.on('content:evicted', ({ contentId }) => {
      this.forgetHeld(contentId);
      const manifest = this.catalog.get(contentId);
      if (manifest) this.reportProgress(contentId, manifest, true);
    });
  }

  async start(): Promise<void> {
    const { host } = this.config;
    this.store.start();
    await listenOn(this.apiServer, { host: this.config.apiHost, port: this.config.apiPort }, 'API');
    await listenOn(this.edgeServer, { host, port: this.config.httpPort }, 'HTTP');
    await listenOn(this.ftpServer.server, { host, port: this.config.ftpPort }, 'FTP');
    this.listener = await this.transport.listen({ host, port: this.config.peerPort }, (stream) => {
      const conn = new PeerConnection(stream, this.handler);
      conn.on('close', (err) => err && this.log.debug('peer connection closed', { err }));
      const timer = setTimeout(() => conn.remoteId === undefined && conn.destroy(new Error('no hello in time')), HELLO_TIMEOUT_MS);
      timer.unref();
      conn.once('close', () => clearTimeout(timer));
    });
    this.lifecycle.start();
    this.stopRetention = startHistoryRetention(this.catalog, this.log);
    this.tree = new TreeLink({
      pool: this.pool,
      self: { id: this.identity.nodeId, addr: formatAddress(this.addresses().peer) },
      // Attested attributes (the tree routes announcements by them; holders still check every block request).
      attrs: this.identity.attrs,
      options: { fanout: this.config.fanout, heartbeatMs: this.config.heartbeatMs, deadAfterMs: this.config.heartbeatMs * 3.5 },
      log: this.log,
      onDeliver: (via, id, origin, payload) => this.onTreeDelivery(via, origin, payload),
      // The root link (registration, catalog, progress, holders) starts once the node has a place in the tree,
      // so that every announcement after the catalog it receives reaches it by flooding.
      onPlaced: () => this.rootLink?.start(),
    });
    if (this.config.isRoot) this.tree.start(null);
    else void this.joinTree(this.config.join!);
    this.uploads?.start();
    this.renewTimer = setInterval(() => this.renewIfDue(), RENEW_CHECK_MS);
    this.renewTimer.unref();
    if (this.config.isRoot) this.renewIfDue();
    this.log.info('node started', { ...this.addresses(), attrs: this.identity.attrs, root: this.config.isRoot });
  }

  async stop(): Promise<void> {
    clearInterval(this.renewTimer);
    this.stopping = true;
    this.tree?.stop();
    this.downloader.stop();
    this.lifecycle.stop();
    this.stopRetention?.();
    this.uploads?.stop();
    this.rootLink?.stop();
    this.pool.closeAll();
    await this.listener?.close();
    await Promise.all([closeServer(this.edgeServer), closeServer(this.apiServer), this.ftpServer.close()]);
    await this.lifecycle.idle();
    this.store.close();
    this.log.info('node stopped');
  }

  addresses(): NodeAddresses {
    const host = this.config.host;
    const base = host.includes(':') ? `[${host}]` : host;
    const apiBase = this.config.apiHost.includes(':') ? `[${this.config.apiHost}]` : this.config.apiHost;
    return {
      peer: { host, port: this.listener?.port ?? this.config.peerPort },
      api: `http://${apiBase}:${(this.apiServer.address() as AddressInfo | null)?.port ?? this.config.apiPort}`,
      http: `http://${base}:${(this.edgeServer.address() as AddressInfo | null)?.port ?? this.config.httpPort}`,
      ftp: `ftp://${base}:${(this.ftpServer.server.address() as AddressInfo | null)?.port ?? this.config.ftpPort}`,
    };
  }

  /**
   * Fetches one block of a content now, ahead of any prefetch, aiming to have it by
   * `deadline` (epoch ms); resolves once it is verified and stored. For on-demand reads.
   */
  async fetchNow(contentId: string, index: number, deadline?: number): Promise<void> {
    const manifest = this.catalog.require(contentId);
    this.checkServing(contentId);
    if (!this.qualifies(manifest)) throw new CanopyError('ERR_NOT_AUTHORISED', `this node does not meet the criteria "${manifest.criteria}" of ${contentId.slice(0, 12)}`);
    return this.downloader.fetchNow(contentId, manifest, index, deadline);
  }

  /** Whether this node meets a content's criteria. */
  qualifies(manifest: Manifest): boolean {
    return matches(parseCriteria(manifest.criteria), this.identity.attrs, this.identity.nodeId);
  }

  /**
   * Contents this node must keep (pinned, never evicted): its own, and those it qualifies
   * for and prefetches. With --no-prefetch the node is an on-demand cache: what its clients
   * read stays evictable.
   */
  mustHold(manifest: Manifest): boolean {
    const own = manifest.origin === this.identity.nodeId || manifest.origin === this.store.index.getKv(LOCAL_INGEST_ID);
    return own || (this.config.prefetch && this.qualifies(manifest));
  }

  private findHolders(contentId: string): Promise<Holder[]> {
    if (this.rootLink) return this.rootLink.holders(contentId);
    return Promise.resolve(this.registry!.completeHolders(contentId));
  }

  /**
   * A volume failed and took blocks with it: tell the root what we hold now (so we stop
   * being listed as a complete holder), then re-fetch what the placement says we must hold.
   */
  private onVolumeFailed(failure: VolumeFailure): void {
    for (const { contentId, manifest } of this.catalog.list()) {
      this.forgetHeld(contentId);
      const holding = this.catalog.holding(contentId);
      if (holding.complete || (holding.haveBlocks === 0 && !this.mustHold(manifest))) continue;
      this.reportProgress(contentId, manifest, true);
      if (!this.mustHold(manifest)) continue;
      this.log.warn('re-fetching blocks lost with a volume', { contentId, volume: failure.id, missing: holding.totalBlocks - holding.haveBlocks });
      this.downloader.fetch(contentId, manifest).catch((err: Error) => this.log.error('re-fetch failed', { contentId, err }));
    }
  }

  private info(): Record<string, unknown> {
    return { nodeId: this.identity.nodeId, name: this.config.name, root: this.config.isRoot, attrs: this.identity.attrs, ...this.addresses(), store: this.store.stats(), rootId: this.config.isRoot ? this.identity.nodeId : this.rootLink?.rootId ?? null, tree: this.tree?.view() ?? null };
  }

  /** Learns the root's id from its hello (dialling until it answers), then starts the tree walk. */
  private async joinTree(root: PeerAddress): Promise<void> {
    for (let backoff = 100; !this.stopping; backoff = Math.min(backoff * 2, 5000)) {
      try {
        const conn = await this.pool.get(root);
        this.tree!.start({ id: conn.remoteId!, addr: formatAddress(root) });
        return;
      } catch (err) {
        this.log.warn('cannot reach the root yet', { err: err as Error, retryMs: backoff });
        await sleep(backoff);
      }
    }
  }

  private onTreeDelivery(via: 'flood' | 'route', origin: string, payload: unknown): void {
    const p = payload as { type?: unknown; contentId?: unknown; manifest?: unknown; access?: unknown };
    if (via !== 'flood' || (p.type !== 'announce' && p.type !== 'withdraw') || typeof p.contentId !== 'string') return;
    // Only the root announces and withdraws (the flood's origin is checked; access statements
    // are CA-signed; the root's list of authorised publisher keys is still to come).
    const rootId = this.config.isRoot ? this.identity.nodeId : this.rootLink?.rootId ?? this.tree?.rootId;
    if (origin !== rootId) {
      this.log.warn(`dropped ${p.type === 'announce' ? 'an announcement' : 'a withdrawal'} not from the root`, { origin, contentId: p.contentId });
      return;
    }
    if (p.type === 'announce') return this.onAnnounce(p.contentId, p.manifest, p.access);
    this.applyWithdrawal(p, 'flood');
  }

  /**
   * Obeys a withdrawal only if the root signed it with the cluster CA key: a flood's origin is
   * only what the flooder says, so a member could otherwise take any content out of service.
   */
  private applyWithdrawal(value: unknown, via: 'flood' | 'peer' | 'sync'): void {
    let w;
    try {
      w = verifyWithdrawal(value, this.security.trust.caPublicKey);
    } catch (err) {
      this.log.warn('dropped a withdrawal without a valid root signature', { via, err: err as Error });
      return;
    }
    void this.lifecycle.withdraw(w.contentId, w.at, w.reason);
  }

  /** Which blocks of a content this node holds: read from the index once, then kept current as blocks arrive. */
  bitfield(contentId: string): Bitfield {
    let b = this.bitfields.get(contentId);
    if (!b) {
      const m = this.catalog.require(contentId);
      b = new Bitfield(m.blocks.length);
      m.blocks.forEach((blk, i) => this.store.has(blk.hash) && b!.set(i));
      this.bitfields.set(contentId, b);
    }
    return b;
  }

  /**
   * Applies the catalog sync of a join: withdrawals first (so nothing withdrawn is fetched or
   * served), then the live contents; only then does the node serve.
   */
  private onCatalogSync(reply: JoinReply): void {
    // The list that authorises the catalog's publishers comes with it, and is applied first.
    if (reply.publishers !== undefined && reply.publishers !== null) this.onTrustUpdate({ records: [], publishers: reply.publishers });
    // Withdrawals are marked synchronously, so the node may serve (and fetch) once they are applied.
    for (const w of reply.withdrawn ?? []) this.applyWithdrawal(w, 'sync');
    if (!this.synced) this.log.info('catalog synced; serving', { contents: reply.catalog.length, withdrawn: reply.withdrawn?.length ?? 0 });
    this.synced = true;
    for (const c of reply.catalog) this.onAnnounce(c.contentId, c.manifest, c.access);
  }

  private checkServing(contentId: string): void {
    if (!this.synced) throw new CanopyError('ERR_NOT_SYNCED', 'this node is still learning the catalog from the network');
    if (!this.catalog.isLive(contentId)) throw new CanopyError('ERR_CONTENT_WITHDRAWN', `content ${contentId.slice(0, 12)} is ${this.catalog.state(contentId)}`);
  }

  private onStuck(contentId: string, stuck: Stuck | undefined): void {
    const was = this.stuck.get(contentId);
    if (stuck) this.stuck.set(contentId, stuck);
    else this.stuck.delete(contentId);
    if (was?.reason !== stuck?.reason) {
      const manifest = this.catalog.get(contentId);
      if (manifest) this.reportProgress(contentId, manifest, true);
    }
  }

  /**
   * Blocks of a content left the store (eviction, a failed volume): the cached bitfield and
   * any swarm session built on it are dropped, so this node never advertises what it lost.
   */
  private forgetHeld(contentId: string): void {
    this.downloader.cancel(contentId);
    this.bitfields.delete(contentId);
  }

  /**
   * A signed update (from the root, or relayed): revoked peers are cut off by the trust
   * layer; if this node's own attributes changed, it drops the contents it may no longer
   * hold and fetches those it now qualifies for.
   */
  onTrustUpdate(update: TrustUpdate): void {
    let applied;
    try {
      applied = this.security.apply(update);
    } catch (err) {
      this.log.warn('dropped invalid trust update', { err: err as Error });
      return;
    }
    for (const id of applied.revoked) this.log.warn('node revoked', { revoked: id });
    if (applied.publishers) {
      this.log.info('authorised publishers updated', { publishers: this.security.trust.publishers()?.publishers.length ?? 0 });
      for (const h of this.held.take()) this.onAnnounce(h.contentId, h.manifest, h.access);
    }
    if (!applied.changed.some((r) => r.nodeId === this.identity.nodeId)) return;
    this.log.info('attributes changed', { attrs: this.identity.attrs });
    for (const { contentId, manifest } of this.catalog.list()) {
      if (!this.catalog.isLive(contentId)) continue;
      if (this.qualifies(manifest)) {
        this.prefetch(contentId, manifest);
      } else {
        this.downloader.cancel(contentId);
        void this.downloader.settled(contentId).then(() => this.evict(contentId, manifest)).catch((err: Error) => this.log.error('eviction failed', { contentId, err }));
      }
    }
  }

  /** Removes the blocks of a content this node no longer qualifies for (blocks shared with a content it keeps stay). */
  private async evict(contentId: string, manifest: Manifest): Promise<void> {
    const kept = new Set<string>();
    for (const c of this.catalog.list()) if (c.contentId !== contentId && this.catalog.isLive(c.contentId) && this.qualifies(c.manifest)) c.manifest.blocks.forEach((b) => kept.add(b.hash));
    let removed = 0;
    for (const b of manifest.blocks) {
      if (kept.has(b.hash) || !this.store.has(b.hash)) continue;
      await this.store.delete(b.hash);
      removed++;
    }
    if (removed > 0) this.log.info('evicted content no longer authorised here', { contentId, blocks: removed });
    this.forgetHeld(contentId);
    this.reportProgress(contentId, manifest, true);
  }

  private onAnnounce(contentId: string, untrusted: unknown, access?: unknown): void {
    if (this.catalog.withdrawal(contentId)) return;
    const publisher = typeof untrusted === 'object' && untrusted !== null ? (untrusted as { publisher?: unknown }).publisher : undefined;
    const shown = typeof publisher === 'string' ? publisher.slice(0, 64) : null;
    // What this node already accepted stays: removing a key stops new contents, it does not withdraw old ones.
    if (!this.catalog.get(contentId) && !this.security.trust.isAuthorisedPublisher(publisher)) {
      this.held.hold(contentId, untrusted, access);
      // Before the first list (a new node, whose catalog sync brings it), that is expected, not an attack.
      if (this.security.trust.publishers() === null) this.log.debug('announcement held until the publisher list arrives', { contentId, publisher: shown });
      else this.log.warn('dropped an announcement signed by a publisher key the root has not authorised', { contentId, publisher: shown });
      return;
    }
    if (access !== undefined && access !== null) {
      try {
        this.access.record(contentId, access);
      } catch (err) {
        // A content whose access statement is forged is dropped whole: serving it as public would leak it.
        this.log.warn('dropped announcement with an invalid access statement', { contentId, err: err as Error });
        return;
      }
    }
    try {
      this.catalog.add(contentId, untrusted);
    } catch (err) {
      this.log.warn('dropped invalid announcement', { contentId, publisher: shown, err: err as Error });
      return;
    }
    const manifest = this.catalog.require(contentId);
    if (!this.catalog.isLive(contentId)) return;
    this.store.pin(contentId, this.mustHold(manifest));
    if (!this.qualifies(manifest)) {
      this.log.info('not qualified for content', { contentId, criteria: manifest.criteria });
      return;
    }
    this.prefetch(contentId, manifest);
  }

  /**
   * Fetches in the background a live content this node qualifies for. Nothing is fetched
   * before the catalog sync (an announcement relayed by the tree, or a trust update, may come
   * first): the node must know what was withdrawn; the sync announces every live content again.
   */
  private prefetch(contentId: string, manifest: Manifest): void {
    if (!this.config.prefetch || !this.synced || !this.catalog.isLive(contentId) || !this.qualifies(manifest)) return;
    this.downloader
      .fetch(contentId, manifest)
      .then(() => this.reportProgress(contentId, manifest, true))
      .catch((err: Error) => this.log.error('download failed', { contentId, err }));
  }

  private reportProgress(contentId: string, manifest: Manifest, final: boolean): void {
    const now = Date.now();
    if (!final && now - (this.lastReport.get(contentId) ?? 0) < PROGRESS_INTERVAL_MS) return;
    this.lastReport.set(contentId, now);
    if (!this.qualifies(manifest) && !final) return;
    if (!this.catalog.isLive(contentId)) return;
    const h = this.catalog.holding(contentId);
    if (h.complete) this.stuck.delete(contentId);
    const fetched = this.downloader.fetchedBytes(contentId);
    const stuck = this.stuck.get(contentId);
    this.rootLink?.progress({ contentId, haveBlocks: h.haveBlocks, haveBytes: h.haveBytes, ...(fetched > 0 ? { fetchedBytes: fetched } : {}), ...(stuck ? { stuck: stuck.reason, stuckDetail: stuck.detail.slice(0, 500) } : {}) });
  }

  /** Sends a control message to every node. Nodes that miss it learn it from the catalog sync when they (re)join. */
  private broadcast<T extends 'announce' | 'withdraw'>(type: T, body: MessageBodies[T]): void {
    // Flooded over the control tree: to the root's children, each forwarding to its other neighbours.
    this.tree!.flood(`${type}:${body.contentId}`, { type, ...body });
  }

  private async withdraw(contentId: string, reason: string): Promise<{ contentId: string; freedBytes: number }> {
    const at = new Date().toISOString();
    const freed = this.lifecycle.withdraw(contentId, at, reason);
    this.broadcast('withdraw', signWithdrawal({ contentId, at, reason }, this.security.authority!.caKey));
    return { contentId, freedBytes: await freed };
  }

  private rootApi(): RootApi | undefined {
    const registry = this.registry;
    if (!registry) return undefined;
    return {
      publish: (body, req) => this.publish(body, req),
      signedUrl: (contentId, ttlSeconds) => {
        const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
        return { expiresAt: expires * 1000, query: signUrl(contentId, expires, this.security.authority!.caKey) };
      },
      publishSigned: (body, access) => this.publishSigned(body, access),
      checkPublisher: (key) => this.publishers!.require(key, 'this publish'),
      nodes: () => registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs, peer: m.peer, api: m.api, http: m.http, joinedAt: m.joinedAt })),
      withdraw: (contentId, reason) => this.withdraw(contentId, reason),
      status: (contentId) => contentStatus(this.catalog, registry, contentId, Date.now(), (id) => this.tree?.inTree(id) ?? true),
    };
  }

  /** Gets a new key and certificate (same node id) from the root; new connections use them at once. */
  async renewCertificate(): Promise<{ nodeId: string; validTo: string }> {
    const authority = this.security.authority;
    await this.security.renew(async (publicKey) => {
      if (authority) return authority.renew(this.identity.nodeId, publicKey);
      const conn = await this.pool.get(this.config.join!);
      return String((await conn.request('renew', { publicKey })).header.cert);
    });
    const validTo = new X509Certificate(this.security.certPem).validTo;
    this.log.info('certificate renewed', { validTo });
    return { nodeId: this.identity.nodeId, validTo };
  }

  private renewIfDue(): void {
    if (this.security.needsRenewal()) this.renewCertificate().catch((err: Error) => this.log.warn('certificate renewal failed; will retry', { err }));
  }

  /** Root operation: re-signs a node's attributes and sends the record to every member. */
  setAttributes(ref: string, attrs: Attributes): { nodeId: string; attrs: Attributes; serial: number } {
    const nodeId = this.memberId(ref);
    const record = this.security.authority!.setAttributes(nodeId, attrs);
    this.broadcastTrust({ records: [record] });
    this.log.info('attributes set', { node: nodeId, attrs });
    return { nodeId, attrs: record.attrs, serial: record.serial };
  }

  /** Root operation: removes a node from the cluster; every member cuts it off. */
  revoke(ref: string): { nodeId: string; revoked: string[] } {
    const nodeId = this.memberId(ref);
    const revocations = this.security.authority!.revoke(nodeId);
    this.broadcastTrust({ records: [], revocations });
    this.log.warn('node revoked', { node: nodeId });
    return { nodeId, revoked: revocations.revoked };
  }

  private memberId(ref: string): string {
    const m = this.registry?.list().find((x) => x.nodeId === ref || x.name === ref);
    if (m) return m.nodeId;
    if (this.security.authority?.record(ref)) return ref;
    throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no node "${ref}" (give a node id, or the name of a connected node)`);
  }

  private broadcastTrust(update: { records: AttributeRecord[]; revocations?: RevocationList; publishers?: PublisherList }): void {
    // The root's own view first (this also cuts its connections to a revoked node), then every member.
    this.security.apply(update);
    for (const member of this.registry!.list()) {
      member.conn.notify('trust-update', update).catch((err: Error) => this.log.warn('trust update failed', { node: member.nodeId, err }));
    }
  }

  /**
   * A raw upload (curl, tools without a publisher key): spooled to a temp file on the first
   * volume, then ingested with the same pipeline as the CLI and signed with the root's own
   * publisher key (in the data directory, created on first use).
   */
  private async publish(body: AsyncIterable<Buffer>, req: PublishRequest): Promise<{ contentId: string; manifest: Manifest; warnings: readonly string[] }> {
    const key = this.ownKey();
    this.publishers!.require(key.publicKey, "the root's own key");
    const spoolDir = path.join(path.resolve(this.config.volumes[0]!.path), 'tmp');
    const { contentId, manifest, warnings } = await spoolAndIngest(body, spoolDir, this.store, { name: req.name, criteria: formatCriteria(req.criteria), origin: this.identity.nodeId, key: key.privateKey, blockSize: req.blockSize ?? this.config.blockSize, chunking: req.chunking, expires: req.expires, prefetch: req.prefetch, placement: req.placement });
    return { ...this.accept(contentId, manifest, req.access), warnings };
  }

  /**
   * The root's authorised publisher keys: its own key always, plus those configured to be
   * authorised at start (`--authorise-publisher`, YAML `authorisePublishers`: what a local or
   * demo network uses so that it works with no setup). The root's own trust adopts the list.
   */
  private openPublishers(): PublisherAuthority {
    const publishers = new PublisherAuthority(this.config.dataDir, this.security.authority!.caKey, this.ownKey().publicKey);
    for (const spec of this.config.authorisePublishers) {
      const key = publicKeyOf(spec);
      // Idempotent across restarts: a key already listed keeps its name.
      if (!publishers.isAuthorised(key)) publishers.add(key, 'configured at start');
    }
    this.security.apply({ records: [], publishers: publishers.list() });
    return publishers;
  }

  /** Root operation: authorises a publisher key (or renames it) and sends the new list to every member. */
  authorisePublisher(key: string, name: string): { key: string; name: string; serial: number } {
    this.publishers!.add(key, name);
    const list = this.publishers!.list();
    this.broadcastTrust({ records: [], publishers: list });
    this.log.info('publisher authorised', { publisher: key, name });
    return { key, name, serial: list.serial };
  }

  /** Root operation: withdraws a key's authorisation; contents already published stay. */
  removePublisher(key: string): { key: string; removed: true; serial: number } {
    this.publishers!.remove(key);
    const list = this.publishers!.list();
    this.broadcastTrust({ records: [], publishers: list });
    this.log.warn('publisher key removed', { publisher: key });
    return { key, removed: true, serial: list.serial };
  }

  /** The root's own publisher key (DATA/publisher-key.json, created on first use), for uploads that come unsigned. */
  private ownKey(): PublisherKey {
    return loadOrCreateKeyFile(path.join(this.config.dataDir, 'publisher-key.json'));
  }

  /** A publish the client analysed, hashed and signed itself; see ingest/upload-format.ts. */
  private async publishSigned(body: AsyncIterable<Buffer>, access: AccessMode): Promise<{ contentId: string; manifest: Manifest }> {
    const { contentId, manifest } = await receiveSignedUpload(body, this.store, this.identity.nodeId, (m) => this.publishers!.require(m.publisher));
    return this.accept(contentId, manifest, access);
  }

  private accept(contentId: string, manifest: Manifest, accessMode: AccessMode = 'public'): { contentId: string; manifest: Manifest } {
    this.catalog.add(contentId, manifest);
    const access = accessMode === 'public' ? undefined : signAccess(contentId, accessMode, this.security.authority!.caKey);
    if (access) this.access.record(contentId, access);
    this.announce(contentId, manifest, access);
    return { contentId, manifest };
  }

  /** Announces a content to every node, flooded over the control tree. */
  private announce(contentId: string, manifest: Manifest, access?: AccessStatement): void {
    this.store.pin(contentId, true);
    this.broadcast('announce', { contentId, manifest, ...(access ? { access } : {}) });
  }

  /** Counts blocks and bytes sent to peers, without the peer service knowing about metrics. */
  private countServed(handler: RequestHandler): RequestHandler {
    return async (req) => {
      const reply = await handler(req);
      if (req.type === 'get-block' && reply?.payload) {
        this.metrics.inc('canopy_blocks_served_total');
        this.metrics.inc('canopy_bytes_out_total', { class: 'peer' }, reply.payload.length);
      }
      return reply;
    };
  }

  /** The store as the downloader sees it: every verified block it puts is counted as bytes in from peers. */
  private countingStore(): BlockStore {
    const store = this.store;
    const metrics = this.metrics;
    return Object.create(store, {
      put: {
        value: async (data: Buffer, expected?: string, hint?: StripeHint) => {
          const hash = await store.put(data, expected, hint);
          metrics.inc('canopy_bytes_in_total', { class: 'peer' }, data.length);
          metrics.inc('canopy_blocks_received_total', { class: 'peer' });
          return hash;
        },
      },
    }) as BlockStore;
  }

  /** Counts reads of the shared block cache as hits or misses, without the cache knowing. */
  private countingCache(cache: BlockCache): BlockCache {
    const metrics = this.metrics;
    return Object.create(cache, {
      get: {
        value: (hash: string, length: number, load: () => Promise<Buffer>) => {
          let missed = false;
          const result = cache.get(hash, length, () => {
            missed = true;
            return load();
          });
          metrics.inc('canopy_cache_requests_total', { result: missed ? 'miss' : 'hit' });
          return result;
        },
      },
    }) as BlockCache;
  }

  private spread(): ContentSpread[] {
    const root = this.rootApi();
    if (!root) return [];
    return liveContents(this.catalog).map((c) => root.status(c.contentId) as ContentSpread);
  }

  private gauges() {
    return nodeGauges({
      store: () => this.store.stats(),
      holdings: () => liveHoldings(this.catalog, (hash) => this.store.has(hash)),
      ...(this.registry ? { treeSize: () => this.registry!.list().length + 1, spread: () => this.spread() } : {}),
    });
  }

  private overviewSource() {
    const registry = this.registry;
    if (!registry) return undefined;
    return {
      self: () => this.info(),
      memberToken: () => readIfExists(this.config.apiTokenFile)?.trim(),
      members: () => registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs, api: m.api, http: m.http, joinedAt: m.joinedAt })),
      contents: () => this.spread(),
      history: (limit: number, cursor: string | null) => historyStatuses(this.catalog, limit, cursor, (id) => this.rootApi()!.status(id)),
      uploads: () => this.uploads?.list() ?? [],
    };
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
