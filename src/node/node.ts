/**
 * The composition root of `canopy node`: builds the components once (components.ts; the
 * root's parts only on the root), starts them in order, stops them in reverse, and rolls
 * back a start that fails half way. It wires and holds run-time state (the peer listener,
 * the renewal timer); every behaviour lives in a file of its own.
 */
import { CanopyError } from '../core/errors.js';
import { makeDirs } from '../store/make-dirs.js';
import { applyReload, type ReloadPlan } from './reload-plan.js';
import { HISTORY_KEEP_COUNT, startHistoryRetention } from '../catalog/history-retention.js';
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../core/logger.js';
import { NodeSecurity } from '../security/node-security.js';
import type { AuthorityStore } from '../security/authority.js';
import type { CaMaterial } from '../root/state/root-state.js';
import type { OpenedRootState } from '../root/state/open-root-state.js';
import { PeerConnection } from '../wire/peer-connection.js';
import { listenOn } from '../wire/tcp-transport.js';
import { formatAddress, type Listener, type PeerAddress, type Transport } from '../wire/transport.js';
import { mustHold } from './admission.js';
import { isHttps } from '../http/web-server.js';
import { buildComponents, type Components, type RootKit, type RootSetup } from './components.js';
import type { NodeConfig } from './config.js';
import type { NodeAddresses } from './run-time.js';
import { TreeLink } from './tree-link.js';

export type { NodeAddresses };

/** An accepted connection that has not said a valid hello by then is closed. */
export const HELLO_TIMEOUT_MS = 10_000;
/** How often a node checks whether its certificate needs renewing (also checked on every join). */
export const RENEW_CHECK_MS = 12 * 3_600_000;

/** A part of the node with a start and a stop; parts start in list order and stop in reverse. */
interface Part {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** The root's modules: loaded by a root only (root-kit.ts says why). */
export function loadRootKit(): Promise<RootKit> {
  return import('./root-kit.js');
}

export class CanopyNode {
  readonly c: Components;
  private listener: Listener | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private stopRetention: (() => void) | undefined;
  private stopViews: (() => void) | undefined;
  private stopHoldings: (() => void) | undefined;
  private stopping = false;
  /** Resolves if this root loses its leader lease (several roots on PostgreSQL). */
  private lost: Promise<Error> = new Promise(() => undefined);
  /** Parts started so far, in start order. */
  private started: Part[] = [];

  /** Loads or obtains this node's credentials (creating the CA on a root's first start, enrolling with the token otherwise), then builds the node. */
  static async open(config: NodeConfig): Promise<CanopyNode> {
    dataDirectory(config.dataDir);
    const log = createLogger({ node: config.name });
    const toldRevoked = new Set<string>();
    const prepare = (authorityStore?: AuthorityStore, ca?: CaMaterial) =>
      NodeSecurity.prepare({
        ca,
        dataDir: config.dataDir,
        isRoot: config.isRoot,
        rootAttrs: config.attrs,
        token: config.token,
        join: config.join,
        roots: config.roots,
        authorityStore,
        onRefused: (reason, remote) => log.warn('refused peer connection', { reason, remote }),
        // Told it is revoked, a node stops dialling: one line per revoked node, not one per attempt.
        onRevokedPeer: (id, remote) => toldRevoked.has(id) || (toldRevoked.add(id), log.info('a revoked node dialled; told it is revoked', { revoked: id, remote })),
        onEnrolment: (r) => (r.err ? log.warn('refused enrolment', { err: r.err }) : log.info('node enrolled', { enrolled: r.nodeId })),
        enrolRetry: { onRetry: (err, pauseMs) => log.warn('enrolment: no root answered; trying again', { err, pauseMs }) },
      });
    if (!config.isRoot) return new CanopyNode(config, await prepare());
    const kit = await loadRootKit();
    const onError = (err: Error) => log.error('state database', { err });
    let deposed!: (err: Error) => void;
    const lost = new Promise<Error>((resolve) => (deposed = resolve));
    const lead = kit.leaseSettings(config, (err) => (log.error('deposed', { err }), deposed(err)), (view) => log.info('standby: another root leads; waiting for its lease to end', { leader: view.leader, fence: view.fence }), (view) => log.info('took the leader lease', { fence: view.fence }), (what, ms, leftMs) => log.warn(`leader lease: ${what}`, { ms, leftMs }));
    const { security, ...rootState } = await kit.prepareRootState({ dataDir: config.dataDir, state: config.state, stateKeyFile: config.stateKeyFile, onError, lead }, prepare);
    const node = new CanopyNode(config, security, undefined, { kit, state: rootState });
    node.lost = lost;
    return node;
  }

  constructor(
    readonly config: NodeConfig,
    readonly security: NodeSecurity,
    transport?: Transport,
    /** Given on a root only (its kit and state): a member never loads the root's modules. */
    private readonly root?: RootSetup,
  ) {
    this.c = buildComponents(
      config,
      security,
      transport ?? security.transport(),
      {
        addresses: () => this.addresses(),
        info: () => this.info(),
        renewIfDue: () => this.renewIfDue(),
        renewCertificate: () => this.renewCertificate(),
        rootChanged: (root) => this.followRoot(root),
      },
      root,
    );
    const { catalog, store, holdings } = this.c;
    // Attributes may have changed since the last run: what the node must hold is re-decided.
    for (const x of catalog.list()) store.pin(x.contentId, catalog.isLive(x.contentId) && mustHold(x.manifest, this.c.self()));
    store.on('volume:failed', (failure) => holdings.onVolumeFailed(failure));
    // A volume back in service holds its blocks again: report (and complete) what changed, as after a failure.
    store.on('volume:restored', (back) => holdings.onVolumeFailed(back));
    // The root must stop sending requesters here for what was just evicted.
    store.on('content:evicted', ({ contentId }) => {
      holdings.forgetHeld(contentId);
      holdings.reportNow(contentId);
    });
  }

  /** A root's state (PostgreSQL or the embedded file) and its leader lease, if any. */
  private get rootState(): OpenedRootState | undefined {
    return this.root?.state;
  }

  get identity(): Components['identity'] {
    return this.c.identity;
  }

  get log(): Components['log'] {
    return this.c.log;
  }

  /** Starts every part in order; if one fails, those already started are stopped in reverse and the error is thrown. */
  /** Resolves if the root revoked this node (./revoked-signal.ts). */
  revoked(): Promise<CanopyError> {
    return this.c.revokedSignal.revoked;
  }

  /** Resolves if this root lost its leader lease: it must stop (src/root/state/leadership.ts). */
  deposed(): Promise<Error> {
    return this.lost;
  }

  async start(): Promise<void> {
    for (const part of this.parts()) {
      try {
        await part.start();
      } catch (err) {
        this.c.log.error('start failed; stopping what was started', { part: part.name, err: err as Error });
        await this.stop();
        throw err;
      }
      this.started.push(part);
    }
    this.c.log.info('node started', { ...this.addresses(), attrs: this.c.identity.attrs, root: this.config.isRoot });
  }

  /** Stops the started parts in reverse order (safe to call twice, or after a failed start). */
  async stop(): Promise<void> {
    this.stopping = true;
    const parts = this.started.reverse();
    this.started = [];
    for (const part of parts) await part.stop();
    if (parts.length > 0) this.c.log.info('node stopped');
  }

  private parts(): Part[] {
    const { c, config } = this;
    const { host } = config;
    return [
      { name: 'state', start: () => this.advertiseLeader(), stop: async () => (this.stopViews?.(), this.stopHoldings?.(), await this.rootState?.leadership?.stop(), await this.rootState?.state.close()) },
      { name: 'store', start: () => c.store.start(), stop: async () => (await c.lifecycle.idle(), c.store.close()) },
      { name: 'https', start: () => c.https.start(), stop: () => c.https.stop() },
      { name: 'api', start: () => listenOn(c.apiServer, { host: config.apiHost, port: config.apiPort }, 'API'), stop: () => closeServer(c.apiServer) },
      { name: 'http', start: () => listenOn(c.edgeServer, { host, port: config.httpPort }, 'HTTP'), stop: () => closeServer(c.edgeServer) },
      { name: 'ftp', start: () => listenOn(c.ftpServer.server, { host, port: config.ftpPort }, 'FTP'), stop: () => c.ftpServer.close() },
      { name: 's3', start: () => listenOn(c.s3Server, { host, port: config.s3Port }, 'S3'), stop: () => closeServer(c.s3Server) },
      { name: 'peer', start: () => this.listenPeers(), stop: async () => (c.pool.closeAll(), await this.listener?.close()) },
      // Every server listens now: the lease row gets the addresses they listen on before the node says it is ready.
      { name: 'lease-addresses', start: () => this.rootState?.leadership?.publishAddresses(), stop: () => undefined },
      { name: 'lifecycle', start: () => c.lifecycle.start(), stop: () => c.lifecycle.stop() },
      { name: 'history', start: () => void (this.stopRetention = startHistoryRetention(c.catalog, c.log, { ms: config.keepHistoryMs, count: HISTORY_KEEP_COUNT })), stop: () => this.stopRetention?.() },
      { name: 'tree', start: () => this.startTree(), stop: () => (c.tree.link?.stop(), c.downloader.stop(), c.rootLink?.stop()) },
      { name: 'uploads', start: () => c.root?.uploads.start(), stop: async () => (await c.root?.uploads.stop(), await c.root?.pullThrough?.stop()) },
      { name: 'renewal', start: () => this.startRenewal(), stop: () => clearInterval(this.renewTimer) },
    ];
  }

  /** The lease row names this root's real addresses (read at each renewal, so once it listens); its read views go to the database for the standbys. */
  private async advertiseLeader(): Promise<void> {
    const leadership = this.rootState?.leadership;
    if (leadership) leadership.addresses = () => ({ peer: formatAddress(this.addresses().peer), api: this.addresses().api });
    const { state } = this.rootState ?? {};
    const kit = this.root?.kit;
    if (!kit || !leadership || !this.c.root || !(state instanceof kit.PostgresRootState)) return;
    this.stopViews = kit.startLeaderViews(state, kit.rootViewSource(this.c.catalog, this.c.root, () => this.c.tree.link?.view() ?? { attached: false }), () => leadership.leads());
    this.stopHoldings = await kit.startHoldings(state, this.c.root.registry, () => leadership.leads(), (id) => this.c.catalog.isLive(id));
  }

  private async listenPeers(): Promise<void> {
    const { c } = this;
    this.listener = await c.transport.listen({ host: this.config.host, port: this.config.peerPort }, (stream) => {
      const conn = new PeerConnection(stream, c.handler);
      conn.on('close', (err) => err && c.log.debug('peer connection closed', { err }));
      const timer = setTimeout(() => conn.remoteId === undefined && conn.destroy(new Error('no hello in time')), HELLO_TIMEOUT_MS);
      timer.unref();
      conn.once('close', () => clearTimeout(timer));
    });
  }

  private startTree(): void {
    const { c, config } = this;
    c.tree.link = this.newTreeLink();
    if (config.isRoot) c.tree.link.start(null);
    else if (config.join) void this.joinTree(c.tree.link, config.roots);
  }

  /** Another root leads now (its member link joined it): the tree re-forms under the new root. */
  private followRoot(root: { id: string; addr: PeerAddress }): void {
    const { c } = this;
    if (this.stopping || c.tree.link?.rootId === root.id) return;
    c.log.info('another root leads; re-forming the control tree under it', { root: root.id });
    c.tree.link?.stop();
    c.tree.link = this.newTreeLink();
    c.tree.link.start({ id: root.id, addr: formatAddress(root.addr) });
  }

  private newTreeLink(): TreeLink {
    const { c, config } = this;
    return new TreeLink({
      pool: c.pool,
      self: { id: c.identity.nodeId, addr: formatAddress(this.addresses().peer) },
      // Attested attributes (the tree routes announcements by them; holders still check every block request).
      attrs: c.identity.attrs,
      options: { fanout: config.fanout, heartbeatMs: config.heartbeatMs, deadAfterMs: config.heartbeatMs * 3.5 },
      log: c.log,
      onDeliver: (via, _id, origin, payload) => c.intake.onTreeDelivery(via, origin, payload),
      // The root link (registration, catalog, progress, holders) starts once the node has a place in the tree,
      // so that every announcement after the catalog it receives reaches it by flooding.
      onPlaced: () => c.rootLink?.start(),
    });
  }

  /** Learns the root's id from its hello (dialling the roots in turn until one answers), then starts the tree walk. */
  private async joinTree(link: TreeLink, roots: readonly PeerAddress[]): Promise<void> {
    for (let backoff = 100, i = 0; !this.stopping; backoff = Math.min(backoff * 2, roots.length > 1 ? 1000 : 5000), i++) {
      const root = roots[i % roots.length]!;
      try {
        const conn = await this.c.pool.get(root);
        link.start({ id: conn.remoteId!, addr: formatAddress(root) });
        const next = (i + 1) % roots.length;
        if (roots.length > 1) this.rejoinIfRootGoes(conn, link, [...roots.slice(next), ...roots.slice(0, next)]);
        return;
      } catch (err) {
        if (this.c.revokedSignal.check(err)) return;
        this.c.log.warn('cannot reach the root yet', { err: err as Error, retryMs: backoff });
        await sleep(backoff);
      }
    }
  }

  /**
   * A root that goes away before this node has a place in the tree (a leader killed just after
   * it enrolled this node) would leave the walk knocking at it for ever, and the root link, which
   * starts once placed, never dialling the next root: the walk starts again from the next one.
   */
  private rejoinIfRootGoes(conn: PeerConnection, link: TreeLink, next: readonly PeerAddress[]): void {
    const again = () => {
      if (this.stopping || this.c.tree.link !== link || this.c.rootLink?.started === true) return;
      this.c.log.warn('the root went away before this node was placed; trying the next root');
      link.stop();
      this.c.tree.link = this.newTreeLink();
      void this.joinTree(this.c.tree.link, next);
    };
    if (conn.isClosed) again();
    else conn.once('close', again);
  }

  private startRenewal(): void {
    this.renewTimer = setInterval(() => this.renewIfDue(), RENEW_CHECK_MS);
    this.renewTimer.unref();
    if (this.config.isRoot) this.renewIfDue();
  }

  addresses(): NodeAddresses {
    const { config, c } = this;
    const host = config.host;
    const base = host.includes(':') ? `[${host}]` : host;
    const apiBase = config.apiHost.includes(':') ? `[${config.apiHost}]` : config.apiHost;
    return {
      peer: { host, port: this.listener?.port ?? config.peerPort },
      api: `${isHttps(c.apiServer) ? 'https' : 'http'}://${apiBase}:${(c.apiServer.address() as AddressInfo | null)?.port ?? config.apiPort}`,
      http: `${isHttps(c.edgeServer) ? 'https' : 'http'}://${base}:${(c.edgeServer.address() as AddressInfo | null)?.port ?? config.httpPort}`,
      ftp: `ftp://${base}:${(c.ftpServer.server.address() as AddressInfo | null)?.port ?? config.ftpPort}`,
      s3: `http://${base}:${(c.s3Server.address() as AddressInfo | null)?.port ?? config.s3Port}`,
    };
  }

  private info(): Record<string, unknown> {
    const { c, config } = this;
    return { nodeId: c.identity.nodeId, name: config.name, root: config.isRoot, attrs: c.identity.attrs, ...this.addresses(), store: c.store.stats(), rootId: config.isRoot ? c.identity.nodeId : c.rootLink?.rootId ?? null, tree: c.tree.link?.view() ?? null, ...(this.rootState?.leadership ? { leader: this.rootState.leadership.view() } : {}) };
  }

  /** Applies what a SIGHUP may change while running (./reload-plan.ts decides what). */
  reload(plan: ReloadPlan): void {
    applyReload(plan, this.c);
  }

  /** Gets a new key and certificate (same node id) from the root; new connections use them at once. */
  async renewCertificate(): Promise<{ nodeId: string; validTo: string }> {
    const { security, config, c } = this;
    const authority = security.authority;
    await security.renew(async (publicKey) => {
      if (authority) return authority.renew(c.identity.nodeId, publicKey);
      if (!config.join) throw new Error('a member without a root address cannot renew');
      const conn = await c.pool.get(c.rootLink?.address ?? config.join);
      return String((await conn.request('renew', { publicKey })).header.cert);
    });
    const validTo = new X509Certificate(security.certPem).validTo;
    c.log.info('certificate renewed', { validTo });
    return { nodeId: c.identity.nodeId, validTo };
  }

  private renewIfDue(): void {
    if (this.security.needsRenewal()) this.renewCertificate().catch((err: Error) => this.c.log.warn('certificate renewal failed; will retry', { err }));
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The data directory, made if missing before anything is written into it: a path that cannot be one fails here, naming it. */
function dataDirectory(dir: string): void {
  try {
    makeDirs(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CanopyError('ERR_CONFIG_INVALID', `data: cannot make the data directory ${dir}: ${e.message}`, { cause: err });
  }
}
