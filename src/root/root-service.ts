/**
 * What only the root does, built only on the root (so nothing here is optional): accepts
 * publishes (raw uploads it signs with its own key, and uploads the publisher signed) after
 * checking the publisher key against its list, announces and withdraws contents by flooding
 * them over the tree, manages members (attributes, revocation) and the publisher list, and
 * sends every trust change to every member.
 */
import path from 'node:path';
import type { Attributes } from '../core/attributes.js';
import { formatCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Manifest } from '../core/manifest.js';
import type { PublishRequest, RootApi } from '../api/admin-api.js';
import type { Catalog } from '../catalog/catalog.js';
import { receiveSignedUpload, type UploadBody } from '../ingest/receive-upload.js';
import { spoolAndIngest } from '../ingest/spool-ingest.js';
import { ingestFile, ingestReader } from '../ingest/ingest-file.js';
import type { PositionalReader } from '../ingest/cut-block.js';
import { storeSink } from '../ingest/sinks.js';
import type { Analysis } from '../ingest/analysis.js';
import { loadOrCreateKeyFile, publicKeyOf, type PublisherKey } from '../ingest/publisher-key.js';
import type { AttributeRecord } from '../security/attribute-record.js';
import type { Authority } from '../security/authority.js';
import { signAccess, signUrl, type AccessMode, type AccessStatement } from '../security/content-access.js';
import type { EdgeAccessStore } from '../security/edge-access-store.js';
import type { NodeSecurity } from '../security/node-security.js';
import type { PublisherList } from '../security/publisher-list.js';
import type { RevocationList } from '../security/revocation-list.js';
import { signWithdrawal } from '../security/withdrawal.js';
import type { BlockStore } from '../store/block-store.js';
import type { MessageBodies } from '../wire/messages.js';
import { contentStatus } from './content-status.js';
import { PublisherAuthority, publishersFile } from './publisher-authority.js';
import type { PullThrough } from './pull-through.js';
import type { RootRegistry } from './root-registry.js';
import type { UploadService } from './upload-service.js';

/** What only the root has; built only on the root. */
export interface RootParts {
  authority: Authority;
  registry: RootRegistry;
  service: RootService;
  uploads: UploadService;
  /** Pull-through from upstream registries, when the config has a `registry` section. */
  pullThrough: PullThrough | undefined;
}

export interface RootServiceDeps {
  config: { dataDir: string; volumes: readonly { path: string }[]; blockSize?: number | undefined; authorisePublishers: readonly string[] };
  nodeId: string;
  security: NodeSecurity;
  authority: Authority;
  store: BlockStore;
  catalog: Catalog;
  access: EdgeAccessStore;
  registry: RootRegistry;
  /** Takes a content out of service here (content-lifecycle.ts); resolves with the bytes freed. */
  withdrawHere: (contentId: string, at: string, reason: string) => Promise<number>;
  /** Where the publisher list is kept (default `<data>/security/publishers.json`). */
  publisherStore?: ConstructorParameters<typeof PublisherAuthority>[0];
  /** Resolves once every state change so far is durable in the root's state store (a publish or withdrawal is acknowledged only then). */
  durable: () => Promise<void>;
  /** Floods a control message over the tree, to every member. */
  flood: (key: string, message: Record<string, unknown>) => void;
  /** Whether the control tree still has a member (a hung one drops out): status's liveness. */
  inTree: (nodeId: string) => boolean;
  log: Logger;
}

export class RootService {
  /** The root's set of authorised publisher keys. */
  readonly publishers: PublisherAuthority;

  constructor(private readonly deps: RootServiceDeps) {
    this.publishers = this.openPublishers();
  }

  /**
   * The root's authorised publisher keys: its own key always, plus those configured to be
   * authorised at start (`--authorise-publisher`, YAML `authorisePublishers`: what a local or
   * demo network uses so that it works with no setup). The root's own trust adopts the list.
   */
  private openPublishers(): PublisherAuthority {
    const publishers = new PublisherAuthority(this.deps.publisherStore ?? publishersFile(this.deps.config.dataDir), this.deps.authority.caKey, this.ownKey().publicKey);
    for (const spec of this.deps.config.authorisePublishers) {
      const key = publicKeyOf(spec);
      // Idempotent across restarts: a key already listed keeps its name.
      if (!publishers.isAuthorised(key)) publishers.add(key, 'configured at start');
    }
    this.deps.security.apply({ records: [], publishers: publishers.list() });
    return publishers;
  }

  /** The admin API's root operations. */
  api(): RootApi {
    const { registry, catalog, authority } = this.deps;
    return {
      publish: (body, req) => this.publish(body, req),
      signedUrl: (contentId, ttlSeconds) => {
        const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
        return { expiresAt: expires * 1000, query: signUrl(contentId, expires, authority.caKey) };
      },
      publishSigned: (body, access) => this.publishSigned(body, access),
      checkPublisher: (key) => this.publishers.require(key, 'this publish'),
      holdsBlock: (hash) => this.deps.store.has(hash),
      nodes: () => registry.list().map((m) => ({ nodeId: m.nodeId, name: m.name, attrs: m.attrs, peer: m.peer, api: m.api, http: m.http, joinedAt: m.joinedAt })),
      withdraw: (contentId, reason) => this.withdraw(contentId, reason),
      status: (contentId) => contentStatus(catalog, registry, contentId, Date.now(), this.deps.inTree),
    };
  }

  /**
   * A raw upload (curl, tools without a publisher key): spooled to a temp file on the first
   * volume, then ingested with the same pipeline as the CLI and signed with the root's own
   * publisher key (in the data directory, created on first use).
   */
  private async publish(body: AsyncIterable<Buffer>, req: PublishRequest): Promise<{ contentId: string; manifest: Manifest; warnings: readonly string[] }> {
    const { config, store, nodeId } = this.deps;
    const key = this.ownKey();
    this.publishers.require(key.publicKey, "the root's own key");
    const spoolDir = path.join(path.resolve(config.volumes[0]!.path), 'tmp');
    const { contentId, manifest, warnings } = await spoolAndIngest(body, spoolDir, store, { name: req.name, criteria: formatCriteria(req.criteria), origin: nodeId, key: key.privateKey, blockSize: req.blockSize ?? config.blockSize, chunking: req.chunking, expires: req.expires, prefetch: req.prefetch, placement: req.placement });
    const accepted = this.accept(contentId, manifest, req.access);
    await this.deps.durable();
    return { ...accepted, warnings };
  }

  /** A publish the client analysed, hashed and signed itself; see ingest/upload-format.ts. */
  private async publishSigned(body: UploadBody, access: AccessMode): Promise<{ contentId: string; manifest: Manifest }> {
    const { contentId, manifest } = await receiveSignedUpload(body, this.deps.store, this.deps.nodeId, (m) => this.publishers.require(m.publisher));
    const accepted = this.accept(contentId, manifest, access);
    await this.deps.durable();
    return accepted;
  }

  private accept(contentId: string, manifest: Manifest, accessMode: AccessMode = 'public'): { contentId: string; manifest: Manifest } {
    this.deps.catalog.add(contentId, manifest);
    const access = accessMode === 'public' ? undefined : signAccess(contentId, accessMode, this.deps.authority.caKey);
    if (access) this.deps.access.record(contentId, access);
    this.announce(contentId, manifest, access);
    return { contentId, manifest };
  }

  /**
   * Publishes a file already on this machine with its layout known (a blob pulled through
   * from a registry, root/pull-through.ts), signed with the root's own key.
   */
  async publishPrepared(source: string | { reader: PositionalReader; size: number }, options: { name: string; criteria: string; placement: string; analysis: Analysis }): Promise<string> {
    const key = this.ownKey();
    const sink = storeSink(this.deps.store);
    let result;
    try {
      const ingest = { ...options, origin: this.deps.nodeId, key: key.privateKey, blockSize: this.deps.config.blockSize };
      // A reader (a blob still arriving, src/root/pull-through.ts) is cut and hashed as its bytes come.
      result = typeof source === 'string' ? await ingestFile(source, sink, ingest) : await ingestReader(source.reader, source.size, sink, ingest);
    } catch (err) {
      await sink.discard().catch(() => undefined);
      throw err;
    }
    this.accept(result.contentId, result.manifest);
    await this.deps.durable();
    return result.contentId;
  }

  /** Announces a content to every node, flooded over the control tree. */
  announce(contentId: string, manifest: Manifest, access?: AccessStatement): void {
    this.deps.store.pin(contentId, true);
    this.broadcast('announce', { contentId, manifest, ...(access ? { access } : {}) });
  }

  /** Sends a control message to every node. Nodes that miss it learn it from the catalog sync when they (re)join. */
  private broadcast<T extends 'announce' | 'withdraw'>(type: T, body: MessageBodies[T]): void {
    // Flooded over the control tree: to the root's children, each forwarding to its other neighbours.
    this.deps.flood(`${type}:${body.contentId}`, { type, ...body });
  }

  private async withdraw(contentId: string, reason: string): Promise<{ contentId: string; freedBytes: number }> {
    const at = new Date().toISOString();
    const freed = this.deps.withdrawHere(contentId, at, reason);
    this.broadcast('withdraw', this.signWithdrawal({ contentId, at, reason }));
    await this.deps.durable();
    return { contentId, freedBytes: await freed };
  }

  signWithdrawal(w: { contentId: string; at: string; reason: string }): MessageBodies['withdraw'] {
    return signWithdrawal(w, this.deps.authority.caKey);
  }

  /** Re-signs a node's attributes and sends the record to every member. */
  setAttributes(ref: string, attrs: Attributes): { nodeId: string; attrs: Attributes; serial: number } {
    const nodeId = this.memberId(ref);
    const record = this.deps.authority.setAttributes(nodeId, attrs);
    this.broadcastTrust({ records: [record] });
    this.deps.log.info('attributes set', { node: nodeId, attrs });
    return { nodeId, attrs: record.attrs, serial: record.serial };
  }

  /** Removes a node from the cluster; every member cuts it off. */
  revoke(ref: string): { nodeId: string; revoked: string[] } {
    const nodeId = this.memberId(ref);
    const revocations = this.deps.authority.revoke(nodeId);
    this.broadcastTrust({ records: [], revocations });
    this.deps.log.warn('node revoked', { node: nodeId });
    return { nodeId, revoked: revocations.revoked };
  }

  private memberId(ref: string): string {
    const m = this.deps.registry.list().find((x) => x.nodeId === ref || x.name === ref);
    if (m) return m.nodeId;
    if (this.deps.authority.record(ref)) return ref;
    throw new CanopyError('ERR_NODE_NOT_FOUND', `no node "${ref}" (give a node id, or the name of a connected node)`);
  }

  /** Authorises a publisher key (or renames it) and sends the new list to every member. */
  authorisePublisher(key: string, name: string): { key: string; name: string; serial: number } {
    this.publishers.add(key, name);
    const list = this.publishers.list();
    this.broadcastTrust({ records: [], publishers: list });
    this.deps.log.info('publisher authorised', { publisher: key, name });
    return { key, name, serial: list.serial };
  }

  /** Withdraws a key's authorisation; contents already published stay. */
  removePublisher(key: string): { key: string; removed: true; serial: number } {
    this.publishers.remove(key);
    const list = this.publishers.list();
    this.broadcastTrust({ records: [], publishers: list });
    this.deps.log.warn('publisher key removed', { publisher: key });
    return { key, removed: true, serial: list.serial };
  }

  /** What a node that (re)joins must learn first: every removal and every current record, so it cannot be fooled by a replayed older one. */
  trustForJoiner(): { records: AttributeRecord[]; revocations: RevocationList | undefined; publishers: PublisherList } {
    return { records: this.deps.authority.records().slice(0, 10_000), revocations: this.deps.security.trust.revocations() ?? undefined, publishers: this.publishers.list() };
  }

  private broadcastTrust(update: { records: AttributeRecord[]; revocations?: RevocationList; publishers?: PublisherList }): void {
    // The root's own view first (this also cuts its connections to a revoked node), then every member.
    this.deps.security.apply(update);
    for (const member of this.deps.registry.list()) {
      member.conn.notify('trust-update', update).catch((err: Error) => this.deps.log.warn('trust update failed', { node: member.nodeId, err }));
    }
  }

  /** The root's own publisher key (DATA/publisher-key.json, created on first use), for uploads that come unsigned. */
  ownKey(): PublisherKey {
    return loadOrCreateKeyFile(path.join(this.deps.config.dataDir, 'publisher-key.json'));
  }
}
