/**
 * The node's servers for people and tools: the admin API (its route table assembled here
 * from the route modules, with the root's operations only on the root), the HTTP edge and
 * the FTP edge, metered without their knowing.
 */
import { historyStatuses, liveContents, liveHoldings, withdrawnHeld } from '../catalog/catalog-views.js';
import type http from 'node:http';
import { CanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import { createAdminApi, type AdminApiDeps } from '../api/admin-api.js';
import type { ApiTokens } from '../api/api-tokens.js';
import { blockFetchRoutes } from '../api/block-fetch-route.js';
import { criteriaRoutes } from '../api/criteria-routes.js';
import { lifecycleRoutes } from '../api/lifecycle-routes.js';
import { overviewRoutes } from '../api/overview-routes.js';
import { publishRoutes } from '../api/publish-routes.js';
import { publisherRoutes } from '../api/publisher-routes.js';
import { storeRoutes } from '../api/store-routes.js';
import { treeRoutes, type TreeApi } from '../api/tree-routes.js';
import { webRoutes } from '../api/web-routes.js';
import { createFtpServer, type FtpServer } from '../edge/ftp/ftp-server.js';
import { loadTlsContext } from '../edge/ftp/ftp-tls.js';
import { FtpUsers } from '../edge/ftp/ftp-users.js';
import { createHttpEdge, openFile, type HttpEdgeDeps } from '../edge/http/http-edge.js';
import { createS3Edge } from '../edge/s3/s3-server.js';
import type { Metrics } from '../ops/metrics.js';
import { nodeGauges, type ContentSpread } from '../ops/node-metrics.js';
import { createJoinToken } from '../security/join-token.js';
import type { NodeSecurity } from '../security/node-security.js';
import type { EdgeAccessStore } from '../security/edge-access-store.js';
import type { BlockStore } from '../store/block-store.js';
import { BlockCache } from '../vfile/block-cache.js';
import type { BlockFetcher } from '../vfile/block-fetcher.js';
import { ReadAheadBudget } from '../vfile/read-ahead-budget.js';
import { SequentialReads } from '../vfile/sequential-reads.js';
import type { RootParts } from '../root/root-service.js';
import type { LeaderView } from '../root/state/leadership.js';
import { tokenRootAddresses } from '../root/token-roots.js';
import type { RootLink } from './root-link.js';
import { askRoot } from './oci-pull-link.js';
import type { RunTime } from './run-time.js';
import type { OwnedOutsideCriteria } from './owned-outside-criteria.js';
import { qualifies, type Self } from './admission.js';
import type { NodeConfig } from './config.js';
import { countingCache, meterEdge } from './metering.js';
import { askMemberInfo } from './member-info.js';
import { readiness } from '../ops/readiness.js';
import type { AnnouncementIntake } from './announcement-intake.js';
import type { TreeLink } from './tree-link.js';

/** Block size the browser publishing page cuts files into unless the node config sets one (the page does not analyse). */
const PAGE_BLOCK_SIZE = 4 * 2 ** 20;


/** What the servers are built from (components.ts). */
export interface ServerParts {
  config: NodeConfig;
  log: Logger;
  metrics: Metrics;
  store: BlockStore;
  catalog: Catalog;
  access: EdgeAccessStore;
  apiTokens: ApiTokens;
  root: RootParts | undefined;
  intake: AnnouncementIntake;
  fetcher: BlockFetcher;
  /** The control tree; created at start, once the peer port is known (it is part of this node's address). */
  tree: { link?: TreeLink };
  /** This node's admission facts, read afresh (attributes change with trust updates). */
  self: () => Self;
  /** Fetches one block now for an on-demand reader, if this node qualifies. */
  fetchNow: (contentId: string, index: number, deadline?: number) => Promise<Buffer | undefined>;
  security: NodeSecurity;
  ownedOutside: OwnedOutsideCriteria;
  rootLink: RootLink | undefined;
}

export function buildServers(c: ServerParts, run: RunTime): { apiServer: http.Server; edgeServer: http.Server; ftpServer: FtpServer; ftpUsers: FtpUsers; s3Server: http.Server } {
  const apiServer = createAdminApi(apiDeps(c, run), c.config.https.api);
  const edge: HttpEdgeDeps = { catalog: c.catalog, store: c.store, synced: () => c.intake.synced, access: c.access, log: c.log, source: c.fetcher, mayFetch: (m) => qualifies(m, c.self()), cache: countingCache(c.metrics, new BlockCache()), sequential: new SequentialReads(), aheadBudget: new ReadAheadBudget(), pull: askRoot(c.rootLink, c.root?.pullThrough, c.self) };
  const edgeServer = createHttpEdge(edge, c.config.https.edge);
  meterEdge(c.metrics, edgeServer);
  const s3Server = createS3Edge({ ...edge, keys: (id) => c.apiTokens.s3Key(id), domain: c.config.s3Domain });
  meterEdge(c.metrics, s3Server, 's3');
  const { ftp } = c.config;
  const ftpUsers = new FtpUsers(ftp.users, ftp.anonymous);
  const ftpServer = createFtpServer({
    catalog: c.catalog,
    // Nothing before the first catalog sync, never a withdrawn or expired content; FTP access is
    // by account: a content behind signed URLs is not shown when anonymous login is on.
    visible: (x) => c.intake.synced && c.catalog.isLive(x.contentId) && (qualifies(x.manifest, c.self()) || c.catalog.holding(x.contentId).complete) && (!ftp.anonymous || c.access.mode(x.contentId) === 'public'),
    open: (x) => openFile(edge, x.contentId, x.manifest),
    users: ftpUsers,
    secureContext: loadTlsContext(c.config.dataDir, ftp.tlsCert, ftp.tlsKey, (why) => c.log.warn('FTP runs without TLS: no certificate', { why })),
    requireTls: ftp.requireTls,
    log: c.log,
  });
  return { apiServer, edgeServer, ftpServer, ftpUsers, s3Server };
}

/** The admin API's dependencies: its route table is `adminRoutes(apiDeps(...))` (what `inject()` calls in tests). */
export function apiDeps(c: ServerParts, run: RunTime): AdminApiDeps {
  const { root, config } = c;
  const rootApi = root?.service.api();
  const authority = c.security.authority;
  const tree: TreeApi = {
    view: () => c.tree.link?.view() ?? { attached: false },
    count: config.isRoot
      ? async (criteria) => {
          if (!c.tree.link) throw new CanopyError('ERR_UNREACHABLE', 'the control tree is not started yet');
          const r = await c.tree.link.count(criteria);
          return { ...r, nodes: Number(c.tree.link.view().subtreeNodes ?? 0) };
        }
      : null,
  };
  const spread = (): ContentSpread[] => (rootApi ? liveContents(c.catalog).map((x) => rootApi.status(x.contentId) as ContentSpread) : []);
  const gauges = () =>
    nodeGauges({
      store: () => c.store.stats(),
      holdings: () => liveHoldings(c.catalog, (hash) => c.store.has(hash)),
      withdrawnHeld: () => withdrawnHeld(c.catalog, (hash) => c.store.has(hash)),
      certificates: () => [{ cert: 'node', pem: c.security.certPem }, { cert: 'ca', pem: c.security.caCertPem }],
      ...(root ? { treeSize: () => root.registry.list().length + 1, spread } : {}),
    });
  const overview = root && {
    self: run.info,
    memberInfo: (nodeId: string) => askMemberInfo(root.registry.get(nodeId)?.conn),
    members: () => root.registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs, api: m.api, http: m.http, joinedAt: m.joinedAt })),
    contents: spread,
    history: (limit: number, cursor: string | null) => historyStatuses(c.catalog, limit, cursor, (id) => rootApi!.status(id)),
    uploads: () => root.uploads.list(),
  };
  const deps: AdminApiDeps = {
    info: run.info,
    catalog: c.catalog,
    keptOutsideCriteria: (id) => c.ownedOutside.has(id),
    root: rootApi,
    authority: root && authority && {
      createJoinToken: (attrs, ttlMs) => createJoinToken({ attrs, ttlMs, caKeyPem: authority.caKey, caFingerprint: authority.caFingerprint, roots: tokenRootAddresses(run.addresses().peer, run.info().leader as LeaderView | undefined) }),
      setAttributes: (ref, attrs) => root.service.setAttributes(ref, attrs),
      revoke: (ref) => root.service.revoke(ref),
    },
    tokens: c.apiTokens,
    renewCertificate: run.renewCertificate,
    log: c.log,
    metrics: () => [...c.metrics.families(), ...gauges()],
    ready: () => readiness({ synced: c.intake.synced, volumes: c.store.stats().volumes }),
    routes: [
      ...lifecycleRoutes({ catalog: c.catalog, root: rootApi }),
      ...criteriaRoutes(root && (() => root.registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs })))),
      ...publishRoutes(root?.uploads, config.blockSize ?? PAGE_BLOCK_SIZE),
      ...overviewRoutes(overview),
      ...treeRoutes(tree),
      ...webRoutes(),
      ...(config.isRoot ? [] : blockFetchRoutes(c.catalog, (id, index, deadline) => c.fetchNow(id, index, deadline).then(() => undefined))),
      ...storeRoutes({ stats: () => c.store.stats(), recheck: () => c.store.recheckVolumes() }),
      ...publisherRoutes(root && { list: () => ({ publishers: root.service.publishers.publishers(), serial: root.service.publishers.list().serial }), add: (key, name) => root.service.authorisePublisher(key, name), remove: (key) => root.service.removePublisher(key) }),
    ],
  };
  return deps;
}
