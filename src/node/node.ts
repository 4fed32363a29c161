/**
 * The composition root of `canopy node`: builds the store, catalog, peer service,
 * downloader, root link (or root registry), admin API and HTTP edge, starts them in order
 * and stops them in reverse. Nothing else wires components together.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatCriteria, matches, parseCriteria } from '../core/criteria.js';
import { storedBytes, type Manifest } from '../core/manifest.js';
import { storeRoutes } from '../api/store-routes.js';
import { createAdminApi, type PublishRequest, type RootApi } from '../api/admin-api.js';
import { treeRoutes, type TreeApi } from '../api/tree-routes.js';
import { CanopyError } from '../core/errors.js';
import { criteriaRoutes } from '../api/criteria-routes.js';
import { overviewRoutes } from '../api/overview-routes.js';
import { publishRoutes } from '../api/publish-routes.js';
import { webRoutes } from '../api/web-routes.js';
import { Metrics } from '../ops/metrics.js';
import { nodeGauges, type ContentSpread } from '../ops/node-metrics.js';
import { createFtpServer, type FtpServer } from '../edge/ftp/ftp-server.js';
import { FtpUsers } from '../edge/ftp/ftp-users.js';
import { loadTlsContext } from '../edge/ftp/ftp-tls.js';
import { createHttpEdge, openFile, type HttpEdgeDeps } from '../edge/http/http-edge.js';
import { receiveSignedUpload } from '../ingest/receive-upload.js';
import { spoolAndIngest } from '../ingest/spool-ingest.js';
import { loadOrCreateKeyFile, type PublisherKey } from '../ingest/publisher-key.js';
import { BlockStore, type StripeHint, type VolumeFailure } from '../store/block-store.js';
import { Downloader } from '../swarm/downloader.js';
import { BlockFetcher } from '../vfile/block-fetcher.js';
import { BlockCache } from '../vfile/block-cache.js';
import { SequentialReads } from '../vfile/sequential-reads.js';
import { RootRegistry } from '../tree/root-registry.js';
import type { Holder } from '../wire/messages.js';
import { PeerConnection, type RequestHandler } from '../wire/peer-connection.js';
import { PeerPool, type LocalIdentity } from '../wire/peer-pool.js';
import { listenOn, TcpTransport } from '../wire/tcp-transport.js';
import { formatAddress, type Listener, type PeerAddress, type Transport } from '../wire/transport.js';
import { Catalog } from './catalog.js';
import type { NodeConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createPeerService } from './peer-service.js';
import { RootLink } from './root-link.js';
import { TreeLink } from './tree-link.js';
import { UploadService } from './upload-service.js';

const PROGRESS_INTERVAL_MS = 200;
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
  readonly registry: RootRegistry | undefined;
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly uploads: UploadService | undefined;
  private readonly pool: PeerPool;
  /** One handler serves both directions: requests on connections we dialled and on ones we accepted. */
  private readonly handler: RequestHandler;
  private readonly downloader: Downloader;
  /** On-demand fetch of single blocks for edge readers (the swarm scheduler may take this over). */
  readonly fetcher: BlockFetcher;
  private readonly rootLink: RootLink | undefined;
  private readonly apiServer: http.Server;
  private readonly edgeServer: http.Server;
  private readonly ftpServer: FtpServer;
  private listener: Listener | undefined;
  /** The control tree; created once the peer port is known (it is part of this node's address). */
  private tree: TreeLink | undefined;
  private stopping = false;
  private readonly lastReport = new Map<string, number>();

  constructor(
    readonly config: NodeConfig,
    private readonly transport: Transport = new TcpTransport(),
  ) {
    this.log = createLogger({ node: config.name }, process.env.CANOPY_LOG_LEVEL ? undefined : config.logLevel);
    this.store = new BlockStore(config.dataDir, config.volumes, { quota: config.quota, evictionPolicy: config.evictionPolicy, log: this.log.child({ component: 'store' }) });
    this.identity = { nodeId: this.loadNodeId(), name: config.name, attrs: config.attrs };
    this.log = this.log.child({ nodeId: this.identity.nodeId });
    this.catalog = new Catalog(this.store);
    this.registry = config.isRoot ? new RootRegistry() : undefined;
    this.handler = this.countServed(createPeerService({
      identity: this.identity,
      catalog: this.catalog,
      store: this.store,
      registry: this.registry,
      rootId: () => (config.isRoot ? this.identity.nodeId : this.rootLink?.rootId),
      selfPeer: () => this.addresses().peer,
      onAnnounce: (id, m) => this.onAnnounce(id, m),
      onTree: (connId, from, m) => this.tree?.receive(connId, from, m),
      log: this.log,
    }));
    this.pool = new PeerPool(transport, this.identity, this.handler);
    this.downloader = new Downloader({
      store: this.countingStore(),
      pool: this.pool,
      findHolders: (id) => this.findHolders(id),
      onProgress: (id, m, final) => this.reportProgress(id, m, final),
      log: this.log,
      concurrency: config.downloadConcurrency,
    });
    if (!config.isRoot) {
      this.rootLink = new RootLink({
        pool: this.pool,
        root: config.join!,
        joinBody: () => {
          const a = this.addresses();
          return { peer: a.peer, api: a.api, http: a.http };
        },
        onCatalog: (catalog) => catalog.forEach((c) => this.onAnnounce(c.contentId, c.manifest)),
        onJoined: () => this.catalog.list().forEach((c) => this.reportProgress(c.contentId, c.manifest, true)),
        log: this.log,
      });
    }
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
      ? new UploadService({ dir: path.join(config.dataDir, 'uploads'), store: this.store, catalog: this.catalog, origin: this.identity.nodeId, publisherKey: () => this.ownKey().privateKey, announce: (id, m) => this.announce(id, m), metrics: this.metrics, log: this.log })
      : undefined;
    this.apiServer = createAdminApi({
      info: () => this.info(),
      catalog: this.catalog,
      root: this.rootApi(),
      log: this.log,
      metrics: () => [...this.metrics.families(), ...this.gauges()],
      routes: [
        ...criteriaRoutes(this.registry && (() => this.registry!.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs })))),
        ...publishRoutes(this.uploads, config.blockSize ?? PAGE_BLOCK_SIZE),
        ...overviewRoutes(this.overviewSource()),
        ...treeRoutes(tree),
        ...webRoutes(),
        ...storeRoutes({ stats: () => this.store.stats() }),
      ],
    });
    this.fetcher = new BlockFetcher({
      store: this.countingStore(),
      pool: this.pool,
      manifestOf: (id) => this.catalog.require(id),
      findHolders: (id) => this.findHolders(id),
      onStored: (id) => this.reportProgress(id, this.catalog.require(id), this.catalog.holding(id).complete),
      log: this.log,
    });
    const edge: HttpEdgeDeps = { catalog: this.catalog, store: this.store, log: this.log, source: this.fetcher, mayFetch: (m) => this.qualifies(m), cache: this.countingCache(new BlockCache()), sequential: new SequentialReads() };
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
      visible: (c) => this.qualifies(c.manifest) || this.catalog.holding(c.contentId).complete,
      open: (c) => openFile(edge, c.contentId, c.manifest),
      users: new FtpUsers(config.ftp.users, config.ftp.anonymous),
      secureContext: loadTlsContext(config.dataDir, config.ftp.tlsCert, config.ftp.tlsKey, (why) => this.log.warn('FTP runs without TLS: no certificate', { why })),
      requireTls: config.ftp.requireTls,
      log: this.log,
    });
    // Attributes may have changed since the last run: what the node must hold is re-decided.
    for (const c of this.catalog.list()) this.store.pin(c.contentId, this.mustHold(c.manifest));
    this.store.on('volume:failed', (failure) => this.onVolumeFailed(failure));
    // The root must stop sending requesters here for what was just evicted.
    this.store.on('content:evicted', ({ contentId }) => {
      const manifest = this.catalog.get(contentId);
      if (manifest) this.reportProgress(contentId, manifest, true);
    });
  }

  async start(): Promise<void> {
    const { host } = this.config;
    this.store.start();
    await listenOn(this.apiServer, { host, port: this.config.apiPort }, 'API');
    await listenOn(this.edgeServer, { host, port: this.config.httpPort }, 'HTTP');
    await listenOn(this.ftpServer.server, { host, port: this.config.ftpPort }, 'FTP');
    this.listener = await this.transport.listen({ host, port: this.config.peerPort }, (stream) => {
      const conn = new PeerConnection(stream, this.handler);
      conn.on('close', (err) => err && this.log.debug('peer connection closed', { err }));
    });
    this.tree = new TreeLink({
      pool: this.pool,
      self: { id: this.identity.nodeId, addr: formatAddress(this.addresses().peer) },
      attrs: this.config.attrs,
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
    this.log.info('node started', { ...this.addresses(), attrs: this.config.attrs, root: this.config.isRoot });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.tree?.stop();
    this.downloader.stop();
    this.uploads?.stop();
    this.rootLink?.stop();
    this.pool.closeAll();
    await this.listener?.close();
    await Promise.all([closeServer(this.edgeServer), closeServer(this.apiServer), this.ftpServer.close()]);
    this.store.close();
    this.log.info('node stopped');
  }

  addresses(): NodeAddresses {
    const host = this.config.host;
    const base = host.includes(':') ? `[${host}]` : host;
    return {
      peer: { host, port: this.listener?.port ?? this.config.peerPort },
      api: `http://${base}:${(this.apiServer.address() as AddressInfo | null)?.port ?? this.config.apiPort}`,
      http: `http://${base}:${(this.edgeServer.address() as AddressInfo | null)?.port ?? this.config.httpPort}`,
      ftp: `ftp://${base}:${(this.ftpServer.server.address() as AddressInfo | null)?.port ?? this.config.ftpPort}`,
    };
  }

  /** Whether this node meets a content's criteria. */
  qualifies(manifest: Manifest): boolean {
    return matches(parseCriteria(manifest.criteria), this.config.attrs, this.identity.nodeId);
  }

  /**
   * Contents this node must keep (pinned, never evicted): its own, and those it qualifies
   * for and prefetches. With --no-prefetch the node is an on-demand cache: what its clients
   * read stays evictable.
   */
  mustHold(manifest: Manifest): boolean {
    return manifest.origin === this.identity.nodeId || (this.config.prefetch && this.qualifies(manifest));
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
      const holding = this.catalog.holding(contentId);
      if (holding.complete || (holding.haveBlocks === 0 && !this.mustHold(manifest))) continue;
      this.reportProgress(contentId, manifest, true);
      if (!this.mustHold(manifest)) continue;
      this.log.warn('re-fetching blocks lost with a volume', { contentId, volume: failure.id, missing: holding.totalBlocks - holding.haveBlocks });
      this.downloader.fetch(contentId, manifest).catch((err: Error) => this.log.error('re-fetch failed', { contentId, err }));
    }
  }

  private info(): Record<string, unknown> {
    return { nodeId: this.identity.nodeId, name: this.config.name, root: this.config.isRoot, attrs: this.config.attrs, ...this.addresses(), store: this.store.stats(), rootId: this.config.isRoot ? this.identity.nodeId : this.rootLink?.rootId ?? null, tree: this.tree?.view() ?? null };
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
    const p = payload as { type?: unknown; contentId?: unknown; manifest?: unknown };
    if (via !== 'flood' || p.type !== 'announce' || typeof p.contentId !== 'string') return;
    // Until manifests are signed (security issue), only the root may announce.
    const rootId = this.config.isRoot ? this.identity.nodeId : this.rootLink?.rootId ?? this.tree?.rootId;
    if (origin !== rootId) {
      this.log.warn('dropped an announcement not from the root', { origin, contentId: p.contentId });
      return;
    }
    this.onAnnounce(p.contentId, p.manifest);
  }

  private loadNodeId(): string {
    let id = this.store.index.getKv('nodeId');
    if (!id) {
      id = randomBytes(8).toString('hex');
      this.store.index.putKv('nodeId', id);
    }
    return id;
  }

  private onAnnounce(contentId: string, untrusted: unknown): void {
    try {
      this.catalog.add(contentId, untrusted);
    } catch (err) {
      this.log.warn('dropped invalid announcement', { contentId, err: err as Error });
      return;
    }
    const manifest = this.catalog.require(contentId);
    this.store.pin(contentId, this.mustHold(manifest));
    if (!this.qualifies(manifest)) {
      this.log.info('not qualified for content', { contentId, criteria: manifest.criteria });
      return;
    }
    if (!this.config.prefetch) return;
    this.downloader.fetch(contentId, manifest).catch((err: Error) => this.log.error('download failed', { contentId, err }));
  }

  private reportProgress(contentId: string, manifest: Manifest, final: boolean): void {
    const now = Date.now();
    if (!final && now - (this.lastReport.get(contentId) ?? 0) < PROGRESS_INTERVAL_MS) return;
    this.lastReport.set(contentId, now);
    if (!this.qualifies(manifest) && !final) return;
    const h = this.catalog.holding(contentId);
    this.rootLink?.progress(contentId, h.haveBlocks, h.haveBytes);
  }

  private rootApi(): RootApi | undefined {
    const registry = this.registry;
    if (!registry) return undefined;
    return {
      publish: (body, req) => this.publish(body, req),
      publishSigned: (body) => this.publishSigned(body),
      nodes: () => registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs, peer: m.peer, api: m.api, http: m.http, joinedAt: m.joinedAt })),
      status: (contentId) => {
        const manifest = this.catalog.require(contentId);
        const criteria = parseCriteria(manifest.criteria);
        const nodes = registry.list().map((m) => {
          const h = registry.holding(contentId, m.nodeId);
          return { nodeId: m.nodeId, name: m.name, attrs: m.attrs, qualified: matches(criteria, m.attrs, m.nodeId), haveBlocks: h?.haveBlocks ?? 0, haveBytes: h?.haveBytes ?? 0, complete: h?.complete ?? false, url: `${m.http}/content/${contentId}/${encodeURIComponent(manifest.name)}` };
        });
        return { contentId, name: manifest.name, size: manifest.size, storedBytes: storedBytes(manifest), blocks: manifest.blocks.length, criteria: manifest.criteria, nodes };
      },
    };
  }

  /**
   * A raw upload (curl, tools without a publisher key): spooled to a temp file on the first
   * volume, then ingested with the same pipeline as the CLI and signed with the root's own
   * publisher key (in the data directory, created on first use).
   */
  private async publish(body: AsyncIterable<Buffer>, req: PublishRequest): Promise<{ contentId: string; manifest: Manifest; warnings: readonly string[] }> {
    const key = this.ownKey();
    const spoolDir = path.join(path.resolve(this.config.volumes[0]!.path), 'tmp');
    const { contentId, manifest, warnings } = await spoolAndIngest(body, spoolDir, this.store, { name: req.name, criteria: formatCriteria(req.criteria), origin: this.identity.nodeId, key: key.privateKey, blockSize: req.blockSize ?? this.config.blockSize });
    return { ...this.accept(contentId, manifest), warnings };
  }

  /** The root's own publisher key (DATA/publisher-key.json, created on first use), for uploads that come unsigned. */
  private ownKey(): PublisherKey {
    return loadOrCreateKeyFile(path.join(this.config.dataDir, 'publisher-key.json'));
  }

  /** A publish the client analysed, hashed and signed itself; see ingest/upload-format.ts. */
  private async publishSigned(body: AsyncIterable<Buffer>): Promise<{ contentId: string; manifest: Manifest }> {
    const { contentId, manifest } = await receiveSignedUpload(body, this.store, this.identity.nodeId);
    return this.accept(contentId, manifest);
  }

  private accept(contentId: string, manifest: Manifest): { contentId: string; manifest: Manifest } {
    this.catalog.add(contentId, manifest);
    this.announce(contentId, manifest);
    return { contentId, manifest };
  }

  private announce(contentId: string, manifest: Manifest): void {
    this.store.pin(contentId, true);
    // Flooded over the control tree: to the root's children, each forwarding to its other neighbours.
    this.tree!.flood(`announce:${contentId}`, { type: 'announce', contentId, manifest });
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
    return this.catalog.list().map((c) => root.status(c.contentId) as ContentSpread);
  }

  private gauges() {
    return nodeGauges({
      store: () => this.store.stats(),
      holdings: () => this.catalog.list().map((c) => ({ contentId: c.contentId, name: c.manifest.name, size: c.manifest.size, haveBytes: this.catalog.holding(c.contentId).haveBytes })),
      ...(this.registry ? { treeSize: () => this.registry!.list().length + 1, spread: () => this.spread() } : {}),
    });
  }

  private overviewSource() {
    const registry = this.registry;
    if (!registry) return undefined;
    return {
      self: () => this.info(),
      members: () => registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs, api: m.api, http: m.http, joinedAt: m.joinedAt })),
      contents: () => this.spread(),
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
