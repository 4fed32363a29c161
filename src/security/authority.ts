/**
 * The root's cluster authority: admits nodes that bring a valid, unused join token (issuing
 * a certificate and a signed attribute record), changes attributes, removes nodes and
 * renews certificates. Its state (serial counter, used tokens, current records, revoked
 * ids) is kept by an AuthorityStore: by default `<data>/security/authority.json`, written
 * atomically after every change; on a root with `--state postgres://...`, the database
 * (src/root/state/).
 */
import path from 'node:path';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import type { Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { signAttributeRecord, type AttributeRecord } from './attribute-record.js';
import type { NodeCredentials } from './credentials.js';
import { verifyJoinToken } from './join-token.js';
import { signRevocationList, type RevocationList } from './revocation-list.js';
import { jsonFileStore } from './secret-file.js';
import { checkServerNames } from './server-names.js';
import { fingerprint, issueNodeCertificate, newNodeId, NODE_ID } from './x509.js';

export interface AuthorityState {
  serial: number;
  usedTokens: Record<string, number>;
  /** Who spent each used token (its key's fingerprint, its node id): the same node asking again gets its answer again. Absent in state written before it. */
  tokenHolders?: Record<string, TokenHolder>;
  records: Record<string, AttributeRecord>;
  revoked: string[];
  revocations: RevocationList | null;
}

export interface TokenHolder {
  key: string;
  nodeId: string;
}

/** Where the authority's state lives; `save` is called after every change with the whole state. */
export interface AuthorityStore {
  load(): AuthorityState | undefined;
  save(state: AuthorityState): void;
  /** Resolves once every save so far is durable (a store that writes later, PostgreSQL): an enrolment is answered only then. */
  flush?(): Promise<void>;
}

/** The embedded default: one JSON file in the root's data directory. */
export function authorityFile(dataDir: string): AuthorityStore {
  return jsonFileStore<AuthorityState>(path.join(dataDir, 'security', 'authority.json'));
}

export interface Enrolment {
  nodeId: string;
  certPem: string;
  caCertPem: string;
  record: AttributeRecord;
}

export class Authority {
  private readonly store: AuthorityStore;
  private readonly state: AuthorityState;
  private readonly caKeyPem: string;
  readonly caFingerprint: string;

  constructor(
    dataDir: string,
    private readonly root: NodeCredentials,
    store?: AuthorityStore,
  ) {
    if (!root.caKeyPem) throw new CanopyError('ERR_CONFIG_INVALID', 'security: the root needs the CA key (security/ca.key)');
    this.caKeyPem = root.caKeyPem;
    this.caFingerprint = fingerprint(root.caCertPem);
    this.store = store ?? authorityFile(dataDir);
    this.state = this.store.load() ?? { serial: root.record.serial, usedTokens: {}, records: {}, revoked: [], revocations: null };
    this.state.records[root.nodeId] ??= root.record;
  }

  get caKey(): string {
    return this.caKeyPem;
  }

  /**
   * Admits a node: the token must be ours, unexpired and unused; the key must be P-256. A token
   * already spent by this same key is answered again (same node id, current record): the node's
   * first answer was lost on the way and it retried. Any other key is refused.
   */
  async enrol(token: string, publicKeyPem: string): Promise<Enrolment> {
    const t = verifyJoinToken(token, new X509Certificate(this.root.caCertPem).publicKey);
    checkNodeKey(publicKeyPem);
    const key = keyFingerprint(publicKeyPem);
    const holders = (this.state.tokenHolders ??= {});
    if (this.state.usedTokens[t.id] !== undefined) {
      const holder = holders[t.id];
      if (holder?.key !== key || !this.state.records[holder.nodeId] || this.isRevoked(holder.nodeId)) {
        throw new CanopyError('ERR_NOT_AUTHORISED', `join token ${t.id.slice(0, 8)} was already used`);
      }
      return { nodeId: holder.nodeId, certPem: await this.renew(holder.nodeId, publicKeyPem), caCertPem: this.root.caCertPem, record: this.state.records[holder.nodeId]! };
    }
    this.state.usedTokens[t.id] = t.expiresAt;
    this.pruneTokens();
    const nodeId = newNodeId();
    holders[t.id] = { key, nodeId };
    const certPem = await issueNodeCertificate({ nodeId, publicKeyPem, caCertPem: this.root.caCertPem, caKeyPem: this.caKeyPem });
    const record = this.sign(nodeId, t.attrs);
    // Acknowledged means kept: a leader killed after answering must not leave a member whose
    // record (and used token) the next leader never saw.
    await this.store.flush?.();
    return { nodeId, certPem, caCertPem: this.root.caCertPem, record };
  }

  /** Issues a new certificate for a known, unrevoked node (same id, possibly a new key). */
  async renew(nodeId: string, publicKeyPem: string): Promise<string> {
    this.requireMember(nodeId);
    checkNodeKey(publicKeyPem);
    return issueNodeCertificate({ nodeId, publicKeyPem, caCertPem: this.root.caCertPem, caKeyPem: this.caKeyPem });
  }

  /**
   * Issues an HTTPS server certificate for a known, unrevoked node, for the names it serves
   * under. The CA vouches that the names belong to a member of this cluster, not to which
   * one: docs/SECURITY.md says so.
   */
  async issueServer(nodeId: string, publicKeyPem: string, names: readonly string[]): Promise<string> {
    this.requireMember(nodeId);
    checkNodeKey(publicKeyPem);
    return issueNodeCertificate({ nodeId, publicKeyPem, caCertPem: this.root.caCertPem, caKeyPem: this.caKeyPem, names: checkServerNames(names) });
  }

  setAttributes(nodeId: string, attrs: Attributes): AttributeRecord {
    this.requireMember(nodeId);
    return this.sign(nodeId, attrs);
  }

  revoke(nodeId: string): RevocationList {
    if (nodeId === this.root.nodeId) throw new CanopyError('ERR_USAGE', 'the root cannot revoke itself');
    if (!NODE_ID.test(nodeId)) throw new CanopyError('ERR_USAGE', `"${nodeId}" is not a node id`);
    if (!this.state.revoked.includes(nodeId)) this.state.revoked.push(nodeId);
    delete this.state.records[nodeId];
    this.state.revocations = signRevocationList(this.state.revoked, ++this.state.serial, this.caKeyPem);
    this.save();
    return this.state.revocations;
  }

  record(nodeId: string): AttributeRecord | undefined {
    return this.state.records[nodeId];
  }

  records(): AttributeRecord[] {
    return Object.values(this.state.records);
  }

  revocations(): RevocationList | null {
    return this.state.revocations;
  }

  isRevoked(nodeId: string): boolean {
    return this.state.revoked.includes(nodeId);
  }

  private requireMember(nodeId: string): void {
    if (this.isRevoked(nodeId)) throw new CanopyError('ERR_NOT_AUTHORISED', `node ${nodeId} has been revoked`);
    if (!this.state.records[nodeId]) throw new CanopyError('ERR_NODE_NOT_FOUND', `no node ${nodeId} was admitted by this root`);
  }

  private sign(nodeId: string, attrs: Attributes): AttributeRecord {
    const record = signAttributeRecord(nodeId, attrs, ++this.state.serial, this.caKeyPem);
    this.state.records[nodeId] = record;
    this.save();
    return record;
  }

  private pruneTokens(): void {
    // Expired tokens fail on their expiry anyway; forgetting them keeps the file small.
    const now = Date.now();
    for (const [id, exp] of Object.entries(this.state.usedTokens)) {
      if (exp >= now) continue;
      delete this.state.usedTokens[id];
      delete this.state.tokenHolders?.[id];
    }
  }

  private save(): void {
    this.store.save(this.state);
  }
}

/** A key's identity whatever its PEM's line breaks: the SHA-256 of its DER. */
function keyFingerprint(publicKeyPem: string): string {
  return createHash('sha256').update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}

function checkNodeKey(publicKeyPem: string): void {
  let ok = false;
  try {
    const key = createPublicKey(publicKeyPem);
    ok = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    ok = false;
  }
  if (!ok) throw new CanopyError('ERR_NOT_AUTHORISED', 'enrolment: the public key must be an ECDSA P-256 key in PEM');
}
