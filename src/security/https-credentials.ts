/**
 * The key and certificate a node serves HTTPS with (its admin API and, if asked, its HTTP
 * edge): either files the operator supplies, or a certificate the cluster CA issues for the
 * node's names, kept in `<data>/security/https.key` and `https.crt` and issued again when it
 * nears expiry, its names change or the CA changed. The key is made here and never leaves
 * the host: only the public key goes to the root.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { securityDir } from './credentials.js';
import { readIfExists, writeFileAtomic, writeSecret } from './secret-file.js';
import { generateKeyPair } from './x509.js';

export interface ServerCredentials {
  keyPem: string;
  certPem: string;
  /** When the certificate stops being valid (ms since the epoch). */
  validTo: number;
}

/** A cluster-issued certificate with less than this left is issued again (they last 90 days). */
export const HTTPS_RENEW_BEFORE_MS = 30 * 86_400_000;

/** Issues a certificate for the public key and names (the root's authority, or a request to the root). */
export type IssueServerCertificate = (publicKeyPem: string, names: string[]) => Promise<string>;

const files = (dataDir: string) => ({ key: path.join(securityDir(dataDir), 'https.key'), cert: path.join(securityDir(dataDir), 'https.crt') });

/** Whether a cached certificate can be served on: issued by this CA, covering every name, not close to expiry. */
export function serverCertUsable(certPem: string, caCertPem: string, names: readonly string[], now = Date.now()): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return false;
  }
  if (!cert.verify(new X509Certificate(caCertPem).publicKey)) return false;
  if (Date.parse(cert.validTo) - now < HTTPS_RENEW_BEFORE_MS) return false;
  return names.every((n) => (isIP(n) ? cert.checkIP(n) : cert.checkHost(n, { wildcards: false })) !== undefined);
}

/** The cached credentials when usable, else a new key and a certificate from `issue`, saved before they are returned. */
export async function clusterServerCredentials(dataDir: string, caCertPem: string, names: string[], issue: IssueServerCertificate): Promise<ServerCredentials & { issued: boolean }> {
  const f = files(dataDir);
  const keyPem = readIfExists(f.key);
  const certPem = readIfExists(f.cert);
  if (keyPem && certPem && serverCertUsable(certPem, caCertPem, names)) return { keyPem, certPem, validTo: validTo(certPem), issued: false };
  const keys = generateKeyPair();
  const issued = await issue(keys.publicKeyPem, names);
  writeSecret(f.key, keys.privateKeyPem);
  writeFileAtomic(f.cert, issued);
  return { keyPem: keys.privateKeyPem, certPem: issued, validTo: validTo(issued), issued: true };
}

/** The operator's certificate and key files; refused unless both read, parse and belong together. */
export function operatorServerCredentials(certFile: string, keyFile: string): ServerCredentials {
  let certPem: string | undefined;
  let keyPem: string | undefined;
  let cert: X509Certificate;
  try {
    certPem = readIfExists(certFile);
    keyPem = readIfExists(keyFile);
    if (certPem === undefined || keyPem === undefined) throw new Error(`${certPem === undefined ? certFile : keyFile} does not exist`);
    cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) throw new Error(`the key in ${keyFile} does not belong to the certificate in ${certFile}`);
  } catch (err) {
    throw new CanopyError('ERR_CONFIG_INVALID', `https: ${(err as Error).message}`, { cause: err });
  }
  return { certPem, keyPem, validTo: Date.parse(cert.validTo) };
}

function validTo(certPem: string): number {
  return Date.parse(new X509Certificate(certPem).validTo);
}
