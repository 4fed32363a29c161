/**
 * A node's record of each content's access mode (from the root-signed statements that come
 * with announcements), kept in the index's key-value table so it survives restarts. Contents
 * without a statement are public: that is what every content was before access modes.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import type { IndexDb } from '../store/index-db.js';
import { verifyAccess, verifyUrl, type AccessMode, type EdgeAccess } from './content-access.js';
import { securityDir } from './credentials.js';

/**
 * Access modes kept in memory, newest first out of the index: the index holds every one, so
 * the cache only saves a read. Unbounded, it kept an entry for every content ever read or
 * announced (issue 25).
 */
export const ACCESS_CACHE_MAX = 4096;

export class EdgeAccessStore implements EdgeAccess {
  private readonly cache = new Map<string, AccessMode>();

  constructor(
    private readonly index: IndexDb,
    /** Absent when the data directory has no cluster CA: signed contents are then refused outright. */
    private readonly caPublicKey: KeyObject | undefined,
  ) {}

  /**
   * The same rules for another process over a node's data directory (`canopy store serve`):
   * modes from the node's index, URLs checked against the CA certificate in `<data>/security`.
   */
  static forDataDir(index: IndexDb, dataDir: string): EdgeAccessStore {
    let caPublicKey: KeyObject | undefined;
    try {
      caPublicKey = new X509Certificate(readFileSync(path.join(securityDir(dataDir), 'ca.crt'))).publicKey;
    } catch {
      caPublicKey = undefined;
    }
    return new EdgeAccessStore(index, caPublicKey);
  }

  /** Records a signed statement; throws ERR_NOT_AUTHORISED if it is forged. */
  record(contentId: string, statement: unknown): AccessMode {
    if (!this.caPublicKey) throw new CanopyError('ERR_NOT_AUTHORISED', 'no cluster CA here to verify an access statement');
    const mode = verifyAccess(statement, contentId, this.caPublicKey);
    this.index.putKv(`access:${contentId}`, mode);
    this.index.putKv(`access-statement:${contentId}`, JSON.stringify(statement));
    this.remember(contentId, mode);
    return mode;
  }

  mode(contentId: string): AccessMode {
    let mode = this.cache.get(contentId);
    if (!mode) {
      mode = (this.index.getKv(`access:${contentId}`) as AccessMode | undefined) ?? 'public';
      this.remember(contentId, mode);
    }
    return mode;
  }

  /** How many modes are held in memory (tests: bounded by ACCESS_CACHE_MAX). */
  get cached(): number {
    return this.cache.size;
  }

  private remember(contentId: string, mode: AccessMode): void {
    this.cache.delete(contentId);
    this.cache.set(contentId, mode);
    if (this.cache.size > ACCESS_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The signed statement, to pass on to nodes that join later. */
  statement(contentId: string): unknown {
    const text = this.index.getKv(`access-statement:${contentId}`);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  checkHttp(contentId: string, url: URL): void {
    if (this.mode(contentId) !== 'signed') return;
    if (!this.caPublicKey) throw new CanopyError('ERR_URL_SIGNATURE', 'this content needs a signed URL, and this server has no cluster CA certificate to check one');
    verifyUrl(contentId, url.searchParams, this.caPublicKey);
  }
}
