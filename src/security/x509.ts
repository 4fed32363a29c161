/**
 * X.509 certificates for the cluster: the self-signed CA and node certificates it issues.
 * Keys are ECDSA P-256 made with Node's crypto; certificates are built with @peculiar/x509
 * (pure TypeScript over WebCrypto, no native build, no openssl process per enrolment).
 * TLS itself, chain checks and validity periods stay with Node's OpenSSL.
 * The node id is the certificate's common name: it is what the root assigned at enrolment,
 * so a node cannot claim another's id without that node's private key.
 */
import type * as X509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { newP256PemPair } from '../core/fresh-keys.js';

let builder: Promise<typeof X509> | undefined;

/**
 * The certificate builder, loaded when a certificate is first made: only a root (and
 * enrolment of a new cluster) makes one; a member reads certificates with node:crypto and
 * never does. @peculiar/x509 and its ASN.1 packages are ~18 MiB of every member's RSS.
 */
function certificateBuilder(): Promise<typeof X509> {
  builder ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })();
  return builder;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 3650;
export const NODE_CERT_VALIDITY_DAYS = 90;
/** Node ids are 16 hex digits (64 random bits), as in the walking skeleton. */
export const NODE_ID = /^[0-9a-f]{16}$/;

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateKeyPair(): KeyPairPem {
  // Encoded by the generator: a generated KeyObject's export can deadlock on Node 20 (core/fresh-keys.ts).
  return newP256PemPair();
}

export function newNodeId(): string {
  return randomBytes(8).toString('hex');
}

async function importPrivate(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']) as Promise<CryptoKey>;
}

async function importPublic(pem: string): Promise<CryptoKey> {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, ALG, true, ['verify']) as Promise<CryptoKey>;
}

function serial(): string {
  // Positive, 16 bytes: unique enough that two issues never share one.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

/** Creates the cluster CA: a self-signed certificate allowed only to sign node certificates. */
export async function createCaCertificate(keys: KeyPairPem, clusterName: string, now = new Date()): Promise<string> {
  const x509 = await certificateBuilder();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${clusterName}, O=canopy`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys: { privateKey: await importPrivate(keys.privateKeyPem), publicKey: await importPublic(keys.publicKeyPem) },
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return cert.toString('pem');
}

export interface IssueOptions {
  nodeId: string;
  publicKeyPem: string;
  caCertPem: string;
  caKeyPem: string;
  validityDays?: number;
  now?: Date;
  /** For tests of expiry: a validity window entirely in the past. */
  notAfter?: Date;
  /**
   * DNS names and IP addresses for an HTTPS server certificate (./server-names.ts checked
   * them): given, the certificate is for serving HTTPS only (serverAuth), so it can never
   * stand in for the node on a peer link.
   */
  names?: readonly string[];
}

/** Issues a node certificate (client and server auth, or an HTTPS server certificate when `names` are given) whose common name is the node id. */
export async function issueNodeCertificate(o: IssueOptions): Promise<string> {
  const x509 = await certificateBuilder();
  const now = o.now ?? new Date();
  const ca = new x509.X509Certificate(o.caCertPem);
  const notAfter = o.notAfter ?? new Date(now.getTime() + (o.validityDays ?? NODE_CERT_VALIDITY_DAYS) * DAY_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${o.nodeId}, O=canopy`,
    issuer: ca.subject,
    notBefore: new Date(Math.min(now.getTime() - 60_000, notAfter.getTime() - DAY_MS)),
    notAfter,
    signingKey: await importPrivate(o.caKeyPem),
    publicKey: await importPublic(o.publicKeyPem),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(o.names ? [x509.ExtendedKeyUsage.serverAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:canopy:node:${o.nodeId}` }, ...(o.names ?? []).map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))], false),
    ],
  });
  return cert.toString('pem');
}

/** A self-signed certificate that looks like a node's: for tests that an outsider is refused. */
export async function selfSignedNodeCertificate(nodeId: string, keys: KeyPairPem): Promise<string> {
  const x509 = await certificateBuilder();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${nodeId}, O=canopy`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    keys: { privateKey: await importPrivate(keys.privateKeyPem), publicKey: await importPublic(keys.publicKeyPem) },
    signingAlgorithm: ALG,
  });
  return cert.toString('pem');
}

/** The node id in a certificate's subject, or undefined when it is not a node certificate. */
export function nodeIdOf(cert: X509Certificate): string | undefined {
  const m = /(?:^|\n)CN=([0-9a-f]{16})(?:\n|$)/.exec(cert.subject);
  return m ? m[1] : undefined;
}

/** SHA-256 of the certificate's DER bytes, hex: how join tokens pin the cluster CA. */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

export function publicKeyOf(certPem: string): KeyObject {
  return new X509Certificate(certPem).publicKey;
}
