/**
 * What a node believes about its peers: the cluster CA, the newest revocation list, the
 * newest attribute record of each node it has met, and the newest list of authorised
 * publisher keys (announcements signed by any other key are dropped). It turns a TLS-authenticated node id and
 * the record presented in `hello` into attested attributes, and applies updates from the
 * root to the live connections: a revoked node's connections are cut, a node whose
 * attributes changed is judged by its new ones from the next request on.
 * State is kept in `<data>/security/trust.json` so a restart cannot be used to replay an
 * older record or forget a revocation.
 *
 * At a root with 10,000 members (issue 18) two costs of that file grew with the members:
 * every saved record's signature was verified on load (~2 s at start, with the leader lease
 * held), and the whole file was rewritten and fsynced at each member's first hello
 * (quadratic). So a saved record is verified when it is first used, not on load; and a
 * record of a node met for the first time is saved within SAVE_EVERY_MS, several at once,
 * while what a restart must not forget (a revocation, a publisher list, a record that
 * replaces an older one) is saved at once, as before. The file is always replaced whole by
 * an atomic rename, so a kill at any moment leaves the old or the new one; what a kill can
 * lose is the first records of the last second, of which no older one was known to replay.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import { CanopyError } from '../core/errors.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import { verifyAttributeRecord, type AttributeRecord } from './attribute-record.js';
import { verifyRevocationList, type RevocationList } from './revocation-list.js';
import { publisherKeys, verifyPublisherList, type PublisherList } from './publisher-list.js';
import { readIfExists, writeFileAtomic } from './secret-file.js';

/** Records of nodes met for the first time are saved together, this long after the first of them. */
export const SAVE_EVERY_MS = 1_000;

export interface TrustUpdate {
  records?: unknown[];
  revocations?: unknown;
  /** The root's list of authorised publisher keys. */
  publishers?: unknown;
}

export interface AppliedUpdate {
  changed: AttributeRecord[];
  revoked: string[];
  /** Whether a newer publisher list was adopted. */
  publishers: boolean;
}

interface TrustState {
  records: Record<string, AttributeRecord>;
  revocations: RevocationList | null;
  publishers?: PublisherList | null;
}

export class PeerTrust {
  readonly caPublicKey: KeyObject;
  private readonly state: TrustState = { records: {}, revocations: null, publishers: null };
  private revoked = new Set<string>();
  private publisherSet = new Set<string>();
  private readonly conns = new Map<string, Set<PeerConnection>>();
  private readonly file: string | undefined;
  /** Node ids whose record came from the file and has not been verified yet. */
  private readonly unverified = new Set<string>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(caCertPem: string, dataDir?: string) {
    this.caPublicKey = new X509Certificate(caCertPem).publicKey;
    this.file = dataDir === undefined ? undefined : path.join(dataDir, 'security', 'trust.json');
    const text = this.file ? readIfExists(this.file) : undefined;
    if (text) {
      // Lists verified now, records at first use (known): a tampered file is a forged statement like any other.
      const saved = JSON.parse(text) as TrustState;
      this.apply({ records: [], revocations: saved.revocations ?? undefined, publishers: saved.publishers ?? undefined }, false);
      for (const [nodeId, record] of Object.entries(saved.records ?? {})) {
        if (this.revoked.has(nodeId)) continue;
        this.state.records[nodeId] = record;
        this.unverified.add(nodeId);
      }
    }
  }

  /** The record believed for `nodeId`: one from the file is verified here, once, and dropped if it does not verify. */
  private known(nodeId: string, presented?: AttributeRecord): AttributeRecord | undefined {
    const record = this.state.records[nodeId];
    if (!record || !this.unverified.delete(nodeId)) return record;
    // The very record just presented and verified (a node meeting a restarted root): no second check.
    if (presented && presented.sig === record.sig && canonicalJson(presented) === canonicalJson(record)) return record;
    try {
      if (verifyAttributeRecord(record, this.caPublicKey).nodeId === nodeId) return record;
    } catch {
      // Forged or damaged: not believed, as if never saved.
    }
    delete this.state.records[nodeId];
    return undefined;
  }

  isRevoked(nodeId: string): boolean {
    return this.revoked.has(nodeId);
  }

  revocations(): RevocationList | null {
    return this.state.revocations;
  }

  /** The newest publisher list seen (null before the first, when no publisher is authorised). */
  publishers(): PublisherList | null {
    return this.state.publishers ?? null;
  }

  isAuthorisedPublisher(key: unknown): boolean {
    return typeof key === 'string' && this.publisherSet.has(key);
  }

  /**
   * The attested attributes of the node on a TLS connection whose certificate names
   * `nodeId`, given the record it presented. Throws ERR_NOT_AUTHORISED for a forged record,
   * a record of another node, or a revoked node.
   */
  attest(nodeId: string, presented: unknown): AttributeRecord {
    if (this.isRevoked(nodeId)) throw new CanopyError('ERR_NOT_AUTHORISED', `node ${nodeId} has been revoked`);
    const record = verifyAttributeRecord(presented, this.caPublicKey);
    if (record.nodeId !== nodeId) throw new CanopyError('ERR_NOT_AUTHORISED', `attribute record names node ${record.nodeId}, but the certificate is node ${nodeId}`);
    const known = this.known(nodeId, record);
    if (known && known.serial >= record.serial) return known;
    this.state.records[nodeId] = record;
    // A first record can wait for the next batch; one that replaces an older record is saved now (no replay after a restart).
    if (known) this.save();
    else this.saveSoon();
    return record;
  }

  /** Follows a connection whose peer was attested, so updates reach it; forgets it on close. */
  bind(conn: PeerConnection, nodeId: string): void {
    let set = this.conns.get(nodeId);
    if (!set) this.conns.set(nodeId, (set = new Set()));
    set.add(conn);
    conn.once('close', () => {
      set.delete(conn);
      if (set.size === 0 && this.conns.get(nodeId) === set) this.conns.delete(nodeId);
    });
  }

  /** Applies signed statements (from the root, or a saved file); returns what changed. */
  apply(update: TrustUpdate, persist = true): AppliedUpdate {
    const out: AppliedUpdate = { changed: [], revoked: [], publishers: false };
    if (update.publishers !== undefined && update.publishers !== null) {
      const list = verifyPublisherList(update.publishers, this.caPublicKey);
      const known = this.state.publishers;
      if (!known || list.serial > known.serial) {
        this.state.publishers = list;
        this.publisherSet = publisherKeys(list);
        out.publishers = true;
      }
    }
    if (update.revocations !== undefined && update.revocations !== null) {
      const list = verifyRevocationList(update.revocations, this.caPublicKey);
      if (!this.state.revocations || list.serial > this.state.revocations.serial) {
        this.state.revocations = list;
        const next = new Set(list.revoked);
        out.revoked = [...next].filter((id) => !this.revoked.has(id));
        this.revoked = next;
        for (const id of out.revoked) {
          delete this.state.records[id];
          for (const conn of this.conns.get(id) ?? []) conn.destroy(new CanopyError('ERR_NOT_AUTHORISED', `node ${id} has been revoked`));
        }
      }
    }
    let replaced = false;
    for (const value of update.records ?? []) {
      const record = verifyAttributeRecord(value, this.caPublicKey);
      if (this.revoked.has(record.nodeId)) continue;
      const known = this.known(record.nodeId, record);
      if (known && known.serial >= record.serial) continue;
      replaced ||= known !== undefined;
      this.state.records[record.nodeId] = record;
      out.changed.push(record);
      for (const conn of this.conns.get(record.nodeId) ?? []) conn.remoteAttrs = { ...record.attrs };
    }
    if (!persist) return out;
    if (replaced || out.revoked.length > 0 || out.publishers) this.save();
    else if (out.changed.length > 0) this.saveSoon();
    return out;
  }

  /** Writes what is not saved yet now (a clean stop; tests). */
  flush(): void {
    if (this.saveTimer) this.save();
  }

  private saveSoon(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.save(), SAVE_EVERY_MS);
    // A process ending within the second loses only first records (see above).
    this.saveTimer.unref();
  }

  private save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.file) writeFileAtomic(this.file, `${JSON.stringify(this.state)}\n`);
  }
}
