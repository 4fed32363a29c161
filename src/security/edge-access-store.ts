/**
 * A node's record of each content's access mode (from the root-signed statements that come
 * with announcements), kept in the index's key-value table so it survives restarts. Contents
 * without a statement are public: that is what every content was before access modes.
 */
import type { KeyObject } from 'node:crypto';
import type { IndexDb } from '../store/index-db.js';
import { verifyAccess, verifyUrl, type AccessMode, type EdgeAccess } from './content-access.js';

export class EdgeAccessStore implements EdgeAccess {
  private readonly cache = new Map<string, AccessMode>();

  constructor(
    private readonly index: IndexDb,
    private readonly caPublicKey: KeyObject,
  ) {}

  /** Records a signed statement; throws ERR_NOT_AUTHORISED if it is forged. */
  record(contentId: string, statement: unknown): AccessMode {
    const mode = verifyAccess(statement, contentId, this.caPublicKey);
    this.index.putKv(`access:${contentId}`, mode);
    this.index.putKv(`access-statement:${contentId}`, JSON.stringify(statement));
    this.cache.set(contentId, mode);
    return mode;
  }

  mode(contentId: string): AccessMode {
    let mode = this.cache.get(contentId);
    if (!mode) {
      mode = (this.index.getKv(`access:${contentId}`) as AccessMode | undefined) ?? 'public';
      this.cache.set(contentId, mode);
    }
    return mode;
  }

  /** The signed statement, to pass on to nodes that join later. */
  statement(contentId: string): unknown {
    const text = this.index.getKv(`access-statement:${contentId}`);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  checkHttp(contentId: string, url: URL): void {
    if (this.mode(contentId) === 'signed') verifyUrl(contentId, url.searchParams, this.caPublicKey);
  }
}
