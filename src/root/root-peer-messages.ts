/**
 * The peer messages only the root answers: `join` (register the member, then the catalog
 * sync: live contents, the signed withdrawals still kept, the horizon before which records
 * may be pruned, the publisher list), `progress` (what a
 * member holds), `holders` (whom to fetch a content from), `renew` (a new certificate,
 * same node id) and `server-cert` (an HTTPS certificate for the member's names). Built only on the root, so every part it needs is there.
 */
import { parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Holder, MessageBodies } from '../wire/messages.js';
import type { IncomingRequest } from '../wire/peer-connection.js';
import type { PeerAddress } from '../wire/transport.js';
import type { PullThrough } from './pull-through.js';
import type { RootRegistry } from './root-registry.js';
import { boundHolders } from './holder-bound.js';
import { historyHorizon } from '../catalog/history-retention.js';

export interface RootPeerDeps {
  nodeId: string;
  catalog: Catalog;
  registry: RootRegistry;
  /** The root's own peer address, as members reach it. */
  selfPeer: () => PeerAddress;
  /** How long withdrawals are kept (the node's `keepHistory`): the sync's horizon is that long ago. */
  keepHistoryMs: number;
  /** The signed access statement of a content, if it is not public. */
  accessStatement: (contentId: string) => unknown;
  /** The root's signed form of a withdrawal it recorded. */
  signWithdrawal: (w: { contentId: string; at: string; reason: string }) => MessageBodies['withdraw'];
  /** The root's signed list of authorised publisher keys. */
  publisherList: () => unknown;
  /** Certificate renewal (same node id, new key). */
  renewCertificate: (nodeId: string, publicKeyPem: string) => Promise<string>;
  /** An HTTPS server certificate for a member's names. */
  issueServerCertificate: (nodeId: string, publicKeyPem: string, names: string[]) => Promise<string>;
  /** Pull-through from upstream registries, when the root's config has a `registry` section. */
  pullThrough?: PullThrough;
  /** Every root's peer address, this one first (several roots on one database; token-roots.ts): told to each joining member, which keeps them. */
  rootAddresses?: () => string[];
  /** Called after a node joins, to send it what it must know (revocations, records). */
  onJoined: (conn: IncomingRequest['conn']) => void;
  log: Logger;
}

/** Answers one root-only request from the member `name`. */
export type RootPeerMessages = (req: IncomingRequest, name: string) => Promise<{ body: Record<string, unknown>; payload?: Buffer } | undefined>;

export function rootPeerMessages(deps: RootPeerDeps): RootPeerMessages {
  const { registry, catalog } = deps;
  return async (req, name) => {
    const from = req.conn.remoteId;
    if (from === undefined) throw new CanopyError('ERR_WIRE_PROTOCOL', 'the first message on a connection must be hello');
    switch (req.type) {
      case 'renew': {
        const { publicKey } = req.body as MessageBodies['renew'];
        const cert = await deps.renewCertificate(from, publicKey);
        deps.log.info('certificate renewed', { node: from });
        return { body: { cert } };
      }
      case 'server-cert': {
        const { publicKey, names } = req.body as MessageBodies['server-cert'];
        const cert = await deps.issueServerCertificate(from, publicKey, names);
        deps.log.info('HTTPS certificate issued', { node: from, names });
        return { body: { cert } };
      }
      case 'join': {
        const member = registry.join(req.conn, name, req.body as MessageBodies['join']);
        deps.log.info('node joined', { node: member.nodeId, name: member.name, attrs: member.attrs });
        deps.onJoined(req.conn);
        return { body: catalogSync(deps) };
      }
      case 'progress': {
        const { contentId, haveBlocks, haveBytes, fetchedBytes, stuck, stuckDetail } = req.body as MessageBodies['progress'];
        const manifest = catalog.get(contentId);
        if (manifest && catalog.isLive(contentId)) registry.report(from, contentId, haveBlocks, haveBytes, manifest.blocks.length, { fetchedBytes, stuck, stuckDetail });
        return undefined;
      }
      case 'oci-pull': {
        const q = req.body as MessageBodies['oci-pull'];
        if (!deps.pullThrough) return { body: { status: 404, code: q.blob ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: 'this network pulls nothing through: the root has no registry upstreams' } };
        // The attributes are the ones the root recorded at the join (root-signed), not what the asker says.
        return await deps.pullThrough.answer({ nodeId: from, attrs: registry.get(from)?.attrs ?? {} }, q);
      }
      case 'holders':
        return { body: { holders: holders(deps, (req.body as MessageBodies['holders']).contentId, from) } };
      default:
        throw new CanopyError('ERR_WIRE_PROTOCOL', `unexpected message ${req.type}`);
    }
  };
}

/**
 * The catalog sync of a join: live contents, and the withdrawals still kept (the node applies
 * these before serving). The live list is authoritative for anything out of service before
 * `horizon`, whose withdrawal may be pruned: the member retires what the list lacks (../node/unlisted-contents.ts).
 */
function catalogSync(deps: RootPeerDeps): Record<string, unknown> {
  const { catalog } = deps;
  const horizon = historyHorizon(Date.now(), deps.keepHistoryMs);
  const live = catalog.list().filter((c) => catalog.isLive(c.contentId));
  const withdrawn = catalog.withdrawals().map((w) => deps.signWithdrawal({ contentId: w.contentId, at: w.at, reason: w.reason }));
  const publishers = deps.publisherList();
  const roots = deps.rootAddresses?.() ?? [];
  return { rootId: deps.nodeId, catalog: live.map((c) => ({ contentId: c.contentId, manifest: c.manifest, access: deps.accessStatement(c.contentId) })), withdrawn, horizon, ...(publishers ? { publishers } : {}), ...(roots.length > 0 ? { roots } : {}) };
}

function holders(deps: RootPeerDeps, contentId: string, asker: string): Holder[] {
  const manifest = deps.catalog.get(contentId);
  const found: Holder[] = manifest ? deps.registry.candidateHolders(contentId, parseCriteria(manifest.criteria)).filter((h) => h.nodeId !== asker) : [];
  // The root lists itself as soon as it holds any block: a content published from the
  // browser is fetched while its upload is still arriving here.
  const own = manifest ? deps.catalog.holding(contentId) : undefined;
  if (own && own.haveBlocks > 0) found.push({ nodeId: deps.nodeId, peer: deps.selfPeer(), complete: own.complete });
  // Bounded for a large fleet: the origins only to the origin group, a few dozen neighbours to everyone.
  return manifest ? boundHolders(found, asker, contentId, new Set([deps.nodeId, manifest.origin])) : found;
}
