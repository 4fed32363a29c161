/**
 * The root's set of authorised publisher keys, persisted in `<data>/security/publishers.json`
 * (written atomically after every change) and re-signed as a numbered list after each one.
 * The root's own publisher key (the one that signs raw and browser uploads) is always in it
 * and cannot be removed. Removing a key stops new publishes and announcements signed with
 * it; contents already published stay (nodes do not re-judge what they accepted).
 */
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { isPublicKeyText } from '../core/manifest-signature.js';
import { isPublisherName, signPublisherList, type AuthorisedPublisher, type PublisherList, MAX_PUBLISHERS } from '../security/publisher-list.js';
import { jsonFileStore } from '../security/secret-file.js';

export interface PublisherState {
  serial: number;
  publishers: AuthorisedPublisher[];
  list: PublisherList | null;
}

/** The embedded default: `<data>/security/publishers.json`. */
export function publishersFile(dataDir: string): { load(): PublisherState | undefined; save(s: PublisherState): void } {
  return jsonFileStore<PublisherState>(path.join(dataDir, 'security', 'publishers.json'));
}

export class PublisherAuthority {
  private readonly state: PublisherState;

  constructor(
    private readonly store: { load(): PublisherState | undefined; save(s: PublisherState): void },
    private readonly caKeyPem: string,
    /** The root's own key: always authorised (several roots on one database each add theirs). */
    private readonly ownKey: string,
  ) {
    this.state = store.load() ?? { serial: 0, publishers: [], list: null };
    if (!this.state.publishers.some((p) => p.key === ownKey) || !this.state.list) this.add(ownKey, 'root');
  }

  /** The current signed list (what every node is sent). */
  list(): PublisherList {
    return this.state.list!;
  }

  publishers(): AuthorisedPublisher[] {
    return this.state.publishers.map((p) => ({ ...p }));
  }

  isAuthorised(key: string): boolean {
    return this.state.publishers.some((p) => p.key === key);
  }

  /** Authorises a key (a name change re-signs too); returns whether the list changed. */
  add(key: string, name = ''): boolean {
    if (!isPublicKeyText(key)) throw new CanopyError('ERR_USAGE', `"${String(key).slice(0, 64)}" is not an Ed25519 public key (43 characters of base64url; canopy keys show prints it)`);
    if (!isPublisherName(name)) throw new CanopyError('ERR_USAGE', 'the publisher name must be at most 128 printable characters');
    const known = this.state.publishers.find((p) => p.key === key);
    if (known && known.name === name && this.state.list) return false;
    if (!known && this.state.publishers.length >= MAX_PUBLISHERS) throw new CanopyError('ERR_USAGE', `at most ${MAX_PUBLISHERS} publisher keys can be authorised`);
    if (known) known.name = name;
    else this.state.publishers.push({ key, name, addedAt: new Date().toISOString() });
    this.resign();
    return true;
  }

  /** Withdraws a key's authorisation; the root's own key cannot be removed. */
  remove(key: string): void {
    if (key === this.ownKey) throw new CanopyError('ERR_USAGE', "the root's own publisher key signs raw uploads and cannot be removed");
    const before = this.state.publishers.length;
    this.state.publishers = this.state.publishers.filter((p) => p.key !== key);
    if (this.state.publishers.length === before) throw new CanopyError('ERR_PUBLISHER_NOT_FOUND', `publisher key ${key.slice(0, 64)} is not authorised`);
    this.resign();
  }

  /** Throws ERR_PUBLISHER_NOT_AUTHORISED unless `key` may publish. */
  require(key: string, what = 'the manifest'): void {
    if (!this.isAuthorised(key)) {
      throw new CanopyError('ERR_PUBLISHER_NOT_AUTHORISED', `${what} is signed by publisher key ${String(key).slice(0, 64)}, which this root has not authorised (on the root: canopy publishers add ${String(key).slice(0, 64)})`);
    }
  }

  private resign(): void {
    // Time-based, so a root whose state file was lost still issues lists newer than the nodes' copies.
    this.state.serial = Math.max(this.state.serial + 1, Date.now());
    this.state.list = signPublisherList(this.state.publishers, this.state.serial, this.caKeyPem);
    this.store.save(this.state);
  }
}
