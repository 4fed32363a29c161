/**
 * What only a root runs, in one module the node loads only when it is a root
 * (`CanopyNode.open`, `import()`): a member never loads the root's and the ingest's ~50
 * modules. Loaded, their code and source were 0.7 MiB of a member's V8 heap (Node 24, after
 * loading `canopy node` and a full GC: 9.94 -> 9.22 MiB), in a swarm member held to 100 MiB
 * (notes/issue-15.md, Session 22). components.ts and node.ts take it as a value (`RootKit`,
 * components.ts) and name its types only.
 */
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Metrics } from '../ops/metrics.js';
import type { EdgeAccessStore } from '../security/edge-access-store.js';
import type { NodeSecurity } from '../security/node-security.js';
import type { BlockStore } from '../store/block-store.js';
import { IMAGE_MEDIA_TYPE, imageContentName } from '../registry/image-index.js';
import { RootRegistry } from '../root/root-registry.js';
import { rootPeerMessages } from '../root/root-peer-messages.js';
import { PullThrough } from '../root/pull-through.js';
import { RootService, type RootParts } from '../root/root-service.js';
import { UploadService } from '../root/upload-service.js';
import { publishersFile } from '../root/publisher-authority.js';
import { notLeader, type LeaderView } from '../root/state/leadership.js';
import type { OpenedRootState } from '../root/state/open-root-state.js';
import { tokenRootAddresses } from '../root/token-roots.js';
import type { NodeConfig } from './config.js';
import type { ContentLifecycle } from './content-lifecycle.js';
import type { RunTime } from './run-time.js';
import type { TreeLink } from './tree-link.js';

export { leaseSettings } from '../root/state/lease-settings.js';
export { attachCatalog, prepareRootState } from '../root/state/open-root-state.js';
export { rootViewSource, startLeaderViews } from '../root/state/leader-views.js';
export { startHoldings } from '../root/state/holdings-saver.js';
export { PostgresRootState } from '../root/state/postgres-state.js';

/** The node's local parts a root's parts are built on (components.ts `buildLocal`). */
export interface RootInputs {
  config: NodeConfig;
  security: NodeSecurity;
  identity: { nodeId: string };
  store: BlockStore;
  catalog: Catalog;
  access: EdgeAccessStore;
  metrics: Metrics;
  log: Logger;
  /** The root's state, opened by CanopyNode.open; a root built without one (test/helpers/cluster.ts) keeps none. */
  root: { state: OpenedRootState | undefined } | undefined;
}

/** The root's parts; `flood` reaches the tree link once it is started. */
export function buildRoot(l: RootInputs, lifecycle: ContentLifecycle, tree: { link?: TreeLink }, stored: (id: string, index: number) => void): RootParts | undefined {
  const authority = l.security.authority;
  if (!l.config.isRoot || !authority) return undefined;
  const opened = l.root?.state;
  const registry = new RootRegistry();
  const service = new RootService({
    config: l.config,
    nodeId: l.identity.nodeId,
    security: l.security,
    authority,
    store: l.store,
    catalog: l.catalog,
    access: l.access,
    registry,
    withdrawHere: (id, at, reason) => lifecycle.withdraw(id, at, reason),
    durable: () => opened?.state.flush() ?? Promise.resolve(),
    publisherStore: opened && opened.state.documentStore('publishers', opened.snapshot, publishersFile(l.config.dataDir)),
    inTree: (nodeId) => tree.link?.inTree(nodeId) ?? true,
    flood: (key, message) => {
      if (!tree.link) throw new CanopyError('ERR_UNREACHABLE', 'the control tree is not started yet');
      // Several roots on one database: a root that may have lost its lease announces nothing.
      const lease = opened?.leadership;
      if (lease && !lease.leads()) throw notLeader(lease.view().leader, 'this root no longer holds the leader lease');
      tree.link.flood(key, message);
    },
    log: l.log,
  });
  const uploads = new UploadService({ dir: path.join(l.config.dataDir, 'uploads'), store: l.store, catalog: l.catalog, origin: l.identity.nodeId, publisherKey: () => service.ownKey().privateKey, announce: (id, m) => service.announce(id, m), metrics: l.metrics, onStored: stored, log: l.log });
  const pullThrough = l.config.registry && new PullThrough({ config: l.config.registry, spoolDir: path.join(path.resolve(l.config.volumes[0]!.path), 'tmp'), publish: (file, index, plan, rule) => service.publishPrepared(file, { name: imageContentName(index), criteria: rule.criteria, placement: rule.placement, analysis: { analyser: 'generic', mediaType: IMAGE_MEDIA_TYPE, plan, warnings: [] } }), log: l.log.child({ component: 'pull-through' }) });
  return { authority, registry, service, uploads, pullThrough };
}

/** What the root adds to the peer service: the requests only a root answers (root-peer-messages.ts). */
export function rootMessages(l: RootInputs, root: RootParts, run: RunTime): ReturnType<typeof rootPeerMessages> {
  return rootPeerMessages({
    nodeId: l.identity.nodeId,
    catalog: l.catalog,
    registry: root.registry,
    keepHistoryMs: l.config.keepHistoryMs,
    selfPeer: () => run.addresses().peer,
    accessStatement: (id) => l.access.statement(id),
    signWithdrawal: (w) => root.service.signWithdrawal(w),
    publisherList: () => root.service.publishers.list(),
    renewCertificate: (nodeId, publicKeyPem) => root.authority.renew(nodeId, publicKeyPem),
    issueServerCertificate: (nodeId, publicKeyPem, names) => root.authority.issueServer(nodeId, publicKeyPem, names),
    ...(root.pullThrough ? { pullThrough: root.pullThrough } : {}),
    rootAddresses: () => tokenRootAddresses(run.addresses().peer, run.info().leader as LeaderView | undefined),
    onJoined: (conn) => void conn.notify('trust-update', root.service.trustForJoiner()).catch(() => undefined),
    log: l.log,
  });
}
