/**
 * The CA private key as it rests in a shared database: sealed with AES-256-GCM under a key
 * every root is given in a file (32 random bytes, hex; `openssl rand -hex 32`). The database
 * alone (a dump, a replica, a backup) never yields the key that signs certificates, and a
 * root given the wrong key file fails with ERR_STATE_KEY instead of signing with garbage:
 * GCM's tag makes a wrong key or a flipped bit an error, never a different plaintext.
 *
 * Sealed form: `v1:` + base64(iv 12 bytes | tag 16 bytes | ciphertext). The associated data
 * binds the box to its purpose, so no other sealed value can be swapped in for the CA key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CanopyError } from '../../core/errors.js';

const PREFIX = 'v1:';
const AAD = Buffer.from('canopy-ca-key');
const IV = 12;
const TAG = 16;

/** Reads a state key file: 64 hex digits (whitespace around them ignored). */
export function readStateKey(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanopyError('ERR_CONFIG_INVALID', `stateKeyFile: cannot read ${file}: ${(err as Error).message}`);
  }
  return parseStateKey(text, file);
}

export function parseStateKey(text: string, where = 'the state key'): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new CanopyError('ERR_CONFIG_INVALID', `stateKeyFile: ${where} must hold 64 hex digits (make one with "openssl rand -hex 32")`);
  return Buffer.from(hex, 'hex');
}

export function sealCaKey(plain: string, key: Buffer): string {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** Opens a sealed CA key; a wrong key, a damaged box or an unknown format is ERR_STATE_KEY. */
export function openCaKey(sealed: string, key: Buffer): string {
  if (!sealed.startsWith(PREFIX)) throw new CanopyError('ERR_STATE_KEY', 'the CA key in the state database is not in a known sealed format');
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  if (raw.length < IV + TAG) throw new CanopyError('ERR_STATE_KEY', 'the CA key in the state database is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
    decipher.setAAD(AAD);
    decipher.setAuthTag(raw.subarray(IV, IV + TAG));
    return Buffer.concat([decipher.update(raw.subarray(IV + TAG)), decipher.final()]).toString('utf8');
  } catch {
    throw new CanopyError('ERR_STATE_KEY', 'the CA key in the state database does not open with this state key file (wrong key file, or the stored key was altered)');
  }
}
