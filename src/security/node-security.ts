/**
 * A node's security, in one object the composition root wires in: its credentials (loaded,
 * created by the root's first start, or obtained by enrolling with a join token), what it
 * trusts about peers, the mutual-TLS transport, and at the root the cluster authority.
 * The peer service and the peer pool call `attest` on every `hello`: identity comes from the
 * TLS certificate, attributes from the root-signed record, nothing from the peer's say-so.
 */
import type { Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import { TlsTransport } from './tls-transport.js';
import type { PeerAddress } from '../wire/transport.js';
import type { AttributeRecord } from './attribute-record.js';
import { Authority, type AuthorityStore } from './authority.js';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { hasCredentials, initRoot, isRootDir, loadCredentials, saveCertificate, saveNodeCredentials, saveRecord, type NodeCredentials } from './credentials.js';
import { generateKeyPair, nodeIdOf } from './x509.js';
import { serveEnrolment } from './enrolment.js';
import { enrolWithAny, type EnrolRetryOptions } from './enrolment-retry.js';
import { PeerTrust, type AppliedUpdate, type TrustUpdate } from './peer-trust.js';

export interface SecurityOptions {
  dataDir: string;
  isRoot: boolean;
  /** The root's own attributes (the root attests itself); ignored on other nodes. */
  rootAttrs?: Attributes;
  /** Join token, needed on a node's first start. */
  token?: string;
  join?: PeerAddress;
  /** Every root address (several roots on one database): enrolment tries them in turn, as only the leader listens. */
  roots?: readonly PeerAddress[];
  ciphers?: string;
  onRefused?: (reason: string, remote: string) => void;
  onRevokedPeer?: (nodeId: string, remote: string) => void;
  onEnrolment?: (result: { nodeId?: string; err?: Error }) => void;
  /** Root with no credentials yet: the cluster CA to use (from a shared state database) instead of a new one. */
  ca?: { certPem: string; keyPem: string };
  /** A new node: how long to keep trying roots that do not answer, and what to tell of each retry. */
  enrolRetry?: EnrolRetryOptions;
  /** Root: where the authority keeps its state; default `<data>/security/authority.json`. */
  authorityStore?: AuthorityStore;
}

export class NodeSecurity {
  readonly trust: PeerTrust;
  readonly authority: Authority | undefined;
  private creds: NodeCredentials;
  private readonly transports: TlsTransport[] = [];

  private constructor(
    private readonly options: SecurityOptions,
    creds: NodeCredentials,
  ) {
    this.creds = creds;
    this.trust = new PeerTrust(creds.caCertPem, options.dataDir);
    this.authority = options.isRoot ? new Authority(options.dataDir, creds, options.authorityStore) : undefined;
  }

  /** Loads credentials, creating the CA on the root's first start or enrolling with the token on a node's. */
  static async prepare(options: SecurityOptions): Promise<NodeSecurity> {
    let creds = loadCredentials(options.dataDir);
    if (options.isRoot) {
      if (!creds) creds = await initRoot(options.dataDir, { attrs: options.rootAttrs, ca: options.ca });
      else if (!isRootDir(options.dataDir)) throw new CanopyError('ERR_CONFIG_INVALID', `security: ${options.dataDir} belongs to a node, not a root (no security/ca.key)`);
      const sec = new NodeSecurity(options, creds);
      sec.updateRootAttrs(options.rootAttrs ?? {});
      return sec;
    }
    if (!creds) {
      if (hasCredentials(options.dataDir)) throw new CanopyError('ERR_CONFIG_INVALID', `security: ${options.dataDir}/security is incomplete; remove it and join again with a new token`);
      if (!options.token) throw new CanopyError('ERR_CONFIG_INVALID', 'token: this node has no certificate yet; join with --token (make one on the root with "canopy token create --attrs ...")');
      if (!options.join) throw new CanopyError('ERR_CONFIG_INVALID', 'join: enrolment needs the root address');
      const enrolled = await enrolWithAny(options.roots && options.roots.length > 0 ? options.roots : [options.join], options.token, options.enrolRetry);
      saveNodeCredentials(options.dataDir, enrolled);
      creds = { ...enrolled, caKeyPem: undefined };
    }
    return new NodeSecurity(options, creds);
  }

  get nodeId(): string {
    return this.creds.nodeId;
  }

  get attrs(): Attributes {
    return this.creds.record.attrs;
  }

  get record(): AttributeRecord {
    return this.creds.record;
  }

  get certPem(): string {
    return this.creds.certPem;
  }

  get caCertPem(): string {
    return this.creds.caCertPem;
  }

  /** Whether less than a third of the certificate's validity is left. */
  needsRenewal(now = Date.now()): boolean {
    const cert = new X509Certificate(this.creds.certPem);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    return to - now < (to - from) / 3;
  }

  /**
   * Gets a new certificate for a new key from the root (`ask` sends the public key and
   * returns the certificate), checks it, stores it, and makes the transport use it.
   */
  async renew(ask: (publicKeyPem: string) => Promise<string>): Promise<void> {
    const keys = generateKeyPair();
    const certPem = await ask(keys.publicKeyPem);
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(this.creds.caCertPem);
    if (!cert.verify(ca.publicKey) || nodeIdOf(cert) !== this.nodeId || !cert.publicKey.equals(createPublicKey(keys.publicKeyPem))) {
      throw new CanopyError('ERR_NOT_AUTHORISED', 'renewal: the root returned a certificate that does not match this node and key');
    }
    saveCertificate(this.options.dataDir, certPem, keys.privateKeyPem);
    this.creds = { ...this.creds, certPem, keyPem: keys.privateKeyPem };
    this.transports.forEach((t) => t.refresh());
  }

  transport(): TlsTransport {
    const transport = this.makeTransport();
    this.transports.push(transport);
    return transport;
  }

  private makeTransport(): TlsTransport {
    return new TlsTransport({
      credentials: () => ({ key: this.creds.keyPem, cert: this.creds.certPem, ca: this.creds.caCertPem }),
      isRevoked: (id) => this.trust.isRevoked(id),
      ciphers: this.options.ciphers,
      onRefused: this.options.onRefused,
      onRevokedPeer: this.options.onRevokedPeer,
      tellRevoked: this.authority !== undefined,
      onEnrol: this.authority && ((socket) => serveEnrolment(socket, this.authority!, (r) => this.options.onEnrolment?.(r))),
    });
  }

  /**
   * Sets `conn.remoteId` and `conn.remoteAttrs` from the TLS certificate and the record the
   * peer presented, and follows the connection for later updates.
   */
  attest(conn: PeerConnection, presented: unknown): void {
    const nodeId = conn.transportPeerId;
    if (!nodeId) throw new CanopyError('ERR_NOT_AUTHORISED', 'the connection is not authenticated by a cluster certificate');
    const record = this.trust.attest(nodeId, presented);
    conn.remoteId = nodeId;
    conn.remoteAttrs = { ...record.attrs };
    this.trust.bind(conn, nodeId);
  }

  /** Applies a signed update; if it carries a newer record of this node, adopts it. */
  apply(update: TrustUpdate): AppliedUpdate {
    const applied = this.trust.apply(update);
    const mine = applied.changed.find((r) => r.nodeId === this.nodeId);
    if (mine && mine.serial > this.creds.record.serial) {
      this.creds = { ...this.creds, record: mine };
      saveRecord(this.options.dataDir, mine);
    }
    return applied;
  }

  private updateRootAttrs(attrs: Attributes): void {
    const same = JSON.stringify(Object.entries(attrs).sort()) === JSON.stringify(Object.entries(this.creds.record.attrs).sort());
    if (same) return;
    const record = this.authority!.setAttributes(this.nodeId, attrs);
    this.creds = { ...this.creds, record };
    saveRecord(this.options.dataDir, record);
  }
}
