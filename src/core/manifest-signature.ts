/**
 * Publisher signatures on manifests. A publisher holds an Ed25519 key pair; the manifest
 * names the public key in `publisher` (raw 32 bytes, base64url) and carries in `signature`
 * the Ed25519 signature (64 bytes, base64url) of manifestBytes(): the canonical JSON of
 * every field but `signature`, the same bytes whose SHA-256 is the content id.
 *
 * The API is three functions:
 *   signManifest(unsigned, privateKey)          → Manifest
 *   verifyManifestSignature(manifest, publicKey) → boolean: signed by exactly this key
 *   checkManifestSignature(manifest)             → boolean: signed by the key it names
 * Whether a publisher key is allowed to publish at all is a separate question (the root
 * authorises keys; see docs/PROTOCOL.md).
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { sha256Hex } from './hash.js';
import { manifestBytes, type Manifest, type UnsignedManifest } from './manifest-format.js';

const B64URL = /^[A-Za-z0-9_-]+$/;

export function isPublicKeyText(v: unknown): v is string {
  return typeof v === 'string' && v.length === 43 && B64URL.test(v) && Buffer.from(v, 'base64url').length === 32;
}

export function isSignatureText(v: unknown): v is string {
  return typeof v === 'string' && v.length === 86 && B64URL.test(v) && Buffer.from(v, 'base64url').length === 64;
}

/** The KeyObject for a raw Ed25519 public key in base64url. */
export function publicKeyFromText(text: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text }, format: 'jwk' });
}

/** The raw public key of an Ed25519 KeyObject (public or private), base64url. */
export function publicKeyText(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  return jwk.x!;
}

/** Sets `publisher` from the key and returns the manifest with its signature. */
export function signManifest(unsigned: Omit<UnsignedManifest, 'publisher'> & { publisher?: string }, privateKey: KeyObject): Manifest {
  return signManifestWithId(unsigned, privateKey).manifest;
}

/**
 * signManifest, and the signed manifest's content id (contentIdOf) from the same canonical
 * bytes: one serialisation instead of two, which counts for a directory's manifest (every
 * file and block listed: 5 % of a 1,000-file publish's main thread, notes/issue-20.md S8).
 */
export function signManifestWithId(unsigned: Omit<UnsignedManifest, 'publisher'> & { publisher?: string }, privateKey: KeyObject): { manifest: Manifest; contentId: string } {
  const withKey: UnsignedManifest = { ...unsigned, publisher: publicKeyText(privateKey) };
  const bytes = manifestBytes(withKey);
  const signature = sign(null, bytes, privateKey).toString('base64url');
  return { manifest: { ...withKey, signature }, contentId: sha256Hex(bytes) };
}

/** True when `manifest` names `publicKey` (text or KeyObject) as its publisher and its signature verifies with it. */
export function verifyManifestSignature(manifest: Manifest, publicKey: string | KeyObject): boolean {
  const text = typeof publicKey === 'string' ? publicKey : publicKeyText(publicKey);
  if (manifest.publisher !== text || !isPublicKeyText(text) || !isSignatureText(manifest.signature)) return false;
  try {
    return verify(null, manifestBytes(manifest), publicKeyFromText(text), Buffer.from(manifest.signature, 'base64url'));
  } catch {
    return false;
  }
}

/** True when the manifest is signed by the publisher key it names (self-consistency, not authorisation). */
export function checkManifestSignature(manifest: Manifest): boolean {
  return verifyManifestSignature(manifest, manifest.publisher);
}
