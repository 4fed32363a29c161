/**
 * Pull-through at the root: the fleet's one fetcher from upstream registries. A node whose
 * mirror misses a tag, manifest or blob asks the root (`oci-pull` on the peer wire); the
 * root checks the asker against the repository rule's criteria, then
 * - tags: resolved upstream, trusted for `tagCacheSeconds` (default 60) per registry/repo:tag;
 * - manifests by digest: fetched once, checked against the digest, kept (bounded, in memory);
 * - blobs: one upstream fetch per registry/repo@digest whoever asks and however many at
 *   once (blob-relay.ts), relayed to every asker while it arrives, checked against its
 *   digest, then published as an image content of one blob (the rule's criteria and
 *   placement) so later pulls come from the swarm, not from the root or the registry.
 * Upstream failures become answers with the status a mirror should give (404 unknown, 429
 * with Retry-After, 503 for the rest), never a broken connection before the first byte.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Attributes } from '../core/attributes.js';
import { matches, parseCriteria } from '../core/criteria.js';
import { CanopyError, isCanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PlannedTrack } from '../ingest/analysis.js';
import type { PositionalReader } from '../ingest/cut-block.js';
import { BlobRelay } from '../registry/blob-relay.js';
import { relayReader } from '../registry/relay-reader.js';
import { IMAGE_INDEX_FORMAT, type ImageIndex } from '../registry/image-index.js';
import { ruleFor, upstreamFor, type PullThroughConfig, type RepositoryRule } from '../registry/pull-through-config.js';
import { isDigest, isRepository, isTag } from '../registry/reference.js';
import { RegistryClient, type FetchedManifest } from '../registry/registry-client.js';
import type { OciPullBody } from '../wire/messages.js';
import type { PullAnswer } from '../edge/oci/pull-through-serve.js';
import { makeDirs } from '../store/make-dirs.js';

export interface PullThroughDeps {
  config: PullThroughConfig;
  /** Where blobs are spooled while they arrive (a volume's tmp/, scrubbed at start). */
  spoolDir: string;
  /** Publishes a blob (its bytes, then the index, read by position) as an image content; resolves with its id once every byte is in and checked. */
  publish: (source: { reader: PositionalReader; size: number }, index: ImageIndex, plan: PlannedTrack[], rule: RepositoryRule) => Promise<string>;
  log: Logger;
}

/** Bytes per reply: a few frames per MiB would be chatty, a whole layer per frame would not stream. */
export const PULL_CHUNK_BYTES = 4 * 2 ** 20;
const MAX_MANIFEST_CACHE_BYTES = 64 * 2 ** 20;
/** How long a relayed blob is still served from the spool after it is published (nodes learn the content meanwhile). */
const SPOOL_GRACE_MS = 5 * 60_000;
/** Blobs below this are relayed to every asker: a copy costs little, waiting for the content would cost more. */
export const FOLLOW_MIN_BYTES = 8 * 2 ** 20;

/** A blob being pulled through: its relay, the nodes it relays to, and whether it is a content yet. */
interface BlobPull {
  relay: BlobRelay;
  readers: Set<string>;
  followers: Set<string>;
  state: 'fetching' | 'publishing' | 'published' | 'unpublished';
}

export class PullThrough {
  private readonly clients = new Map<string, RegistryClient>();
  private readonly tags = new Map<string, { digest: string; at: number }>();
  private readonly manifests = new Map<string, FetchedManifest>();
  private manifestBytes = 0;
  private readonly fetching = new Map<string, Promise<FetchedManifest>>();
  private readonly relays = new Map<string, BlobPull>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping = false;
  /** Upstream requests made, by kind: what tests and the bench read. */
  readonly upstreamRequests = { tags: 0, manifests: 0, blobs: 0 };

  constructor(private readonly deps: PullThroughDeps) {}

  /** Answers one `oci-pull` from a node with these attested attributes. */
  async answer(asker: { nodeId: string; attrs: Attributes }, q: OciPullBody): Promise<{ body: PullAnswer; payload?: Buffer }> {
    const upstream = upstreamFor(this.deps.config, q.registry);
    const what = `${q.registry ?? upstream?.registry ?? '?'}/${q.repository}${isDigest(q.reference) ? '@' : ':'}${q.reference}`;
    const unknown = q.blob ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN';
    // The node checked these already; a member that skips the check must not steer the root's requests upstream.
    if (!isRepository(q.repository) || !(isDigest(q.reference) || (!q.blob && isTag(q.reference)))) return { body: { status: 400, code: q.blob || q.reference.includes(':') ? 'DIGEST_INVALID' : 'NAME_INVALID', message: `${what.slice(0, 300)}: not a repository and ${q.blob ? 'digest' : 'tag or digest'}` } };
    if (!upstream) return { body: { status: 404, code: unknown, message: `${what}: ${q.registry} is not an upstream of this network` } };
    const rule = ruleFor(this.deps.config, upstream.registry, q.repository);
    if (!rule) return { body: { status: 404, code: unknown, message: `${what}: no repository rule of this network covers it` } };
    if (!matches(parseCriteria(rule.criteria), asker.attrs, asker.nodeId)) return { body: { status: 404, code: unknown, message: `${what}: this node does not meet the criteria of ${rule.pattern}` } };
    try {
      if (q.blob) return await this.blob(asker.nodeId, upstream.registry, q.repository, q.reference, q.offset, rule, what);
      const m = await this.manifest(upstream.registry, q.repository, q.reference);
      return { body: { status: 200, digest: m.digest, mediaType: m.mediaType, size: m.body.length, done: true }, payload: m.body };
    } catch (err) {
      return { body: failure(err, unknown, what) };
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const relays = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(relays.map((r) => r.relay.dispose()));
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }

  private client(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) this.clients.set(registry, (c = new RegistryClient(upstreamFor(this.deps.config, registry)!)));
    return c;
  }

  /** A manifest by digest (kept) or by tag (resolved upstream once per tagCacheSeconds); concurrent asks share one fetch. */
  private async manifest(registry: string, repository: string, reference: string): Promise<FetchedManifest> {
    const repo = `${registry}/${repository}`;
    if (!isDigest(reference)) {
      const tag = this.tags.get(`${repo}:${reference}`);
      const kept = tag && Date.now() - tag.at < this.deps.config.tagCacheSeconds * 1000 ? this.manifests.get(`${repo}@${tag.digest}`) : undefined;
      if (kept) return kept;
    } else {
      const kept = this.manifests.get(`${repo}@${reference}`);
      if (kept) return kept;
    }
    const key = `${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = this.fetchManifest(registry, repository, reference).finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    return pending;
  }

  private async fetchManifest(registry: string, repository: string, reference: string): Promise<FetchedManifest> {
    const repo = `${registry}/${repository}`;
    if (isDigest(reference)) this.upstreamRequests.manifests++;
    else this.upstreamRequests.tags++;
    const m = await this.client(registry).manifest(repository, reference);
    if (!isDigest(reference)) this.tags.set(`${repo}:${reference}`, { digest: m.digest, at: Date.now() });
    const key = `${repo}@${m.digest}`;
    if (!this.manifests.has(key)) {
      this.manifests.set(key, m);
      this.manifestBytes += m.body.length;
      // Oldest out first: a manifest dropped here is fetched again by digest (immutable, so always right).
      for (const [k, v] of this.manifests) {
        if (this.manifestBytes <= MAX_MANIFEST_CACHE_BYTES) break;
        this.manifests.delete(k);
        this.manifestBytes -= v.body.length;
      }
    }
    return m;
  }

  private async blob(asker: string, registry: string, repository: string, digest: string, offset: number, rule: RepositoryRule, what: string): Promise<{ body: PullAnswer; payload: Buffer }> {
    if (!isDigest(digest)) throw new CanopyError('ERR_OCI_REFERENCE', `${what}: a blob is named by its sha256 digest`);
    const key = `${registry}/${repository}@${digest}`;
    const pull = this.relays.get(key) ?? this.startRelay(key, registry, repository, digest, rule);
    const meta = (size: number | undefined) => ({ status: 200, digest, mediaType: 'application/octet-stream', ...(size !== undefined ? { size } : {}) });
    if (offset === 0 && !pull.readers.has(asker)) {
      // The first bytes (and with them the size the registry declared) decide whether this asker is relayed to.
      const head = await pull.relay.read(0, 0);
      if (follows(pull, head.size, this.deps.config.relayReaders)) {
        if (!pull.followers.has(asker)) this.deps.log.info('pull-through blob followed: the node serves it from its content', { blob: key, asker, state: pull.state });
        pull.followers.add(asker);
        return { body: { ...meta(head.size), follow: true, done: false }, payload: Buffer.alloc(0) };
      }
      pull.readers.add(asker);
    }
    const r = await pull.relay.read(offset, PULL_CHUNK_BYTES);
    return { body: { ...meta(r.size), done: r.done }, payload: r.bytes };
  }

  private startRelay(key: string, registry: string, repository: string, digest: string, rule: RepositoryRule): BlobPull {
    this.upstreamRequests.blobs++;
    const file = path.join(this.deps.spoolDir, `pull-${digest.slice(7, 23)}-${randomBytes(4).toString('hex')}`);
    const relay = new BlobRelay(file, digest, `${registry}/${repository}`, async () => {
      makeDirs(this.deps.spoolDir);
      return this.client(registry).blob(repository, digest);
    });
    const pull: BlobPull = { relay, readers: new Set(), followers: new Set(), state: 'fetching' };
    this.relays.set(key, pull);
    const drop = () => {
      if (this.relays.get(key) === pull) this.relays.delete(key);
      void relay.dispose();
    };
    // Cut, hashed and stored while it arrives: the content is signed as soon as the blob is checked.
    const published = this.publish(relay, registry, repository, rule);
    relay.finished.then(
      () => {
        this.deps.log.info('pull-through blob fetched', { blob: key, readers: pull.readers.size, followers: pull.followers.size });
        pull.state = 'publishing';
        void published.then((ok) => (pull.state = ok ? 'published' : 'unpublished')).finally(() => this.later(drop, SPOOL_GRACE_MS));
      },
      (err: Error) => {
        this.deps.log.warn('pull-through blob failed', { blob: key, err });
        // A failed fetch is forgotten at once: the next ask tries upstream again.
        if (this.relays.get(key) === pull) this.relays.delete(key);
      },
    );
    return pull;
  }

  /**
   * The blob becomes an image content of one blob: the index (the header track, in memory)
   * then the blob, read from the relay as it arrives. Resolves true once published; false if
   * the fetch failed (the relay says why) or the publish did.
   */
  private async publish(relay: BlobRelay, registry: string, repository: string, rule: RepositoryRule): Promise<boolean> {
    let size;
    try {
      // The registry's Content-Length, known with the first bytes; counted at the end when it sent none.
      size = (await relay.read(0, 0)).size;
      if (size === undefined) {
        await relay.finished;
        size = (await relay.read(0, 0)).size ?? 0;
      }
    } catch {
      return false;
    }
    try {
      const index: ImageIndex = {
        format: IMAGE_INDEX_FORMAT,
        version: 1,
        registry,
        repository,
        digest: relay.digest,
        blobs: [{ digest: relay.digest, mediaType: 'application/octet-stream', size, offset: 0, manifest: false }],
      };
      const json = Buffer.from(JSON.stringify(index));
      const plan: PlannedTrack[] = [{ kind: 'header', offset: size, length: json.length }, ...(size > 0 ? [{ kind: 'data' as const, offset: 0, length: size }] : [])];
      const contentId = await this.deps.publish({ reader: relayReader(relay, size, json), size: size + json.length }, index, plan, rule);
      this.deps.log.info('pull-through blob published', { blob: `${registry}/${repository}@${relay.digest}`, contentId, size });
      return true;
    } catch (err) {
      // A failed fetch is logged by the relay's owner; a publish cut short by the node stopping is expected (the next pull fetches again).
      const fetchFailed = await relay.finished.then(() => false, () => true);
      if (!this.stopping && !fetchFailed) this.deps.log.warn('pull-through blob not published (still served from the spool until it is dropped)', { blob: relay.digest, err: err as Error });
      return false;
    }
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

/**
 * Whether a new asker follows (waits for the content) rather than being relayed to: a big
 * blob whose `relayReaders` slots are taken (config: each relayed copy costs the root's
 * uplink one more copy), or that is a content already or about to be. A blob whose publish
 * failed is relayed from the spool to whoever asks, as is a small one.
 */
function follows(pull: BlobPull, size: number | undefined, relayReaders: number): boolean {
  if (pull.state === 'unpublished' || (size !== undefined && size < FOLLOW_MIN_BYTES)) return false;
  return pull.state !== 'fetching' || pull.readers.size >= relayReaders;
}

/** An upstream failure as the mirror's answer: 404 stays unknown, 429 keeps its Retry-After, the rest is 503. */
function failure(err: unknown, unknown: string, what: string): PullAnswer {
  const message = (err as Error).message ?? String(err);
  if (isCanopyError(err, 'ERR_OCI_UPSTREAM')) {
    const status = (err as CanopyError).details?.status;
    if (status === 404) return { status: 404, code: unknown, message: `${what}: not in the upstream registry (${message})` };
    if (status === 429) return { status: 429, code: 'TOOMANYREQUESTS', message, ...retryAfter(message) };
  }
  return { status: 503, code: 'UNAVAILABLE', message: `${what}: the upstream registry failed: ${message}` };
}

function retryAfter(message: string): { retryAfter?: string } {
  const m = /\(retry after ([^)]{1,40})\)/.exec(message);
  return m ? { retryAfter: m[1]! } : {};
}
