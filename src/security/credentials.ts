/**
 * A node's security material on disk, under `<data>/security/`:
 *   ca.crt            the cluster CA certificate (every node)
 *   ca.key            the CA private key (the root only; mode 0600)
 *   node.key          this node's private key (mode 0600)
 *   node.crt          this node's certificate, issued by the CA; its CN is the node id
 *   attributes.json   this node's attribute record, signed by the root
 * `canopy root init` (or the root's first start) creates the CA and the root's own
 * certificate; other nodes get theirs by enrolling with a join token.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { signAttributeRecord, verifyAttributeRecord, type AttributeRecord } from './attribute-record.js';
import { readIfExists, writeFileAtomic, writeSecret } from './secret-file.js';
import { createCaCertificate, generateKeyPair, issueNodeCertificate, newNodeId, nodeIdOf } from './x509.js';

export interface NodeCredentials {
  readonly nodeId: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caCertPem: string;
  readonly record: AttributeRecord;
  /** Present on the root only. */
  readonly caKeyPem: string | undefined;
}

export function securityDir(dataDir: string): string {
  return path.join(dataDir, 'security');
}

const file = (dataDir: string, name: string) => path.join(securityDir(dataDir), name);

export function hasCredentials(dataDir: string): boolean {
  return existsSync(file(dataDir, 'node.crt')) && existsSync(file(dataDir, 'node.key'));
}

export function isRootDir(dataDir: string): boolean {
  return existsSync(file(dataDir, 'ca.key'));
}

export function loadCredentials(dataDir: string): NodeCredentials | undefined {
  const keyPem = readIfExists(file(dataDir, 'node.key'));
  const certPem = readIfExists(file(dataDir, 'node.crt'));
  const caCertPem = readIfExists(file(dataDir, 'ca.crt'));
  const recordText = readIfExists(file(dataDir, 'attributes.json'));
  if (!keyPem || !certPem || !caCertPem || !recordText) return undefined;
  const ca = new X509Certificate(caCertPem);
  const nodeId = nodeIdOf(new X509Certificate(certPem));
  if (!nodeId) throw new CanopyError('ERR_CONFIG_INVALID', `security: ${file(dataDir, 'node.crt')} is not a Canopy node certificate`);
  const record = verifyAttributeRecord(JSON.parse(recordText), ca.publicKey);
  return { nodeId, keyPem, certPem, caCertPem, record, caKeyPem: readIfExists(file(dataDir, 'ca.key')) };
}

export function saveNodeCredentials(dataDir: string, c: { keyPem: string; certPem: string; caCertPem: string; record: AttributeRecord }): void {
  writeFileAtomic(file(dataDir, 'ca.crt'), c.caCertPem);
  writeSecret(file(dataDir, 'node.key'), c.keyPem);
  writeFileAtomic(file(dataDir, 'node.crt'), c.certPem);
  saveRecord(dataDir, c.record);
}

export function saveRecord(dataDir: string, record: AttributeRecord): void {
  writeFileAtomic(file(dataDir, 'attributes.json'), `${JSON.stringify(record)}\n`);
}

export function saveCertificate(dataDir: string, certPem: string, keyPem: string): void {
  writeSecret(file(dataDir, 'node.key'), keyPem);
  writeFileAtomic(file(dataDir, 'node.crt'), certPem);
}

/**
 * Creates the cluster CA and the root's own certificate and record. Refuses to overwrite an
 * existing CA: that would orphan every node of the cluster.
 */
export async function initRoot(dataDir: string, options: { attrs?: Attributes; clusterName?: string; ca?: { certPem: string; keyPem: string } } = {}): Promise<NodeCredentials> {
  if (isRootDir(dataDir)) throw new CanopyError('ERR_CONFIG_INVALID', `security: ${securityDir(dataDir)} already holds a cluster CA; remove it first to start a new cluster`);
  // A further root of an existing network (several roots on one database) reuses its CA.
  const { certPem: caCertPem, keyPem: caKeyPem } = options.ca ?? (await newCa(options.clusterName ?? 'canopy cluster CA'));
  const nodeKeys = generateKeyPair();
  const nodeId = newNodeId();
  const certPem = await issueNodeCertificate({ nodeId, publicKeyPem: nodeKeys.publicKeyPem, caCertPem, caKeyPem });
  const record = signAttributeRecord(nodeId, options.attrs ?? {}, 0, caKeyPem);
  writeSecret(file(dataDir, 'ca.key'), caKeyPem);
  saveNodeCredentials(dataDir, { keyPem: nodeKeys.privateKeyPem, certPem, caCertPem, record });
  return { nodeId, keyPem: nodeKeys.privateKeyPem, certPem, caCertPem, record, caKeyPem };
}

async function newCa(name: string): Promise<{ certPem: string; keyPem: string }> {
  const keys = generateKeyPair();
  return { certPem: await createCaCertificate(keys, name), keyPem: keys.privateKeyPem };
}
