/**
 * The publisher's Ed25519 key file. It holds the private key as a JWK
 * (`{"kty":"OKP","crv":"Ed25519","x":…,"d":…}`), mode 0600. Where it lives: `--key FILE`,
 * else $CANOPY_KEY, else $XDG_CONFIG_HOME/canopy/publisher-key.json (XDG_CONFIG_HOME
 * defaults to ~/.config). `canopy keys create` writes it; publish and ingest read it.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { newEd25519PrivateKey } from '../core/fresh-keys.js';
import { isPublicKeyText, publicKeyText } from '../core/manifest-signature.js';
import { makeDirs } from '../store/make-dirs.js';

export function defaultKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CANOPY_KEY) return path.resolve(env.CANOPY_KEY);
  const config = env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  return path.join(config, 'canopy', 'publisher-key.json');
}

export interface PublisherKey {
  path: string;
  privateKey: KeyObject;
  publicKey: string;
}

/** Creates a new key file; refuses to overwrite one unless `force`. */
export function createKeyFile(file: string, force = false): PublisherKey {
  const privateKey = newEd25519PrivateKey();
  const jwk = privateKey.export({ format: 'jwk' });
  makeDirs(path.dirname(file), 0o700);
  let fd: number;
  try {
    fd = openSync(file, force ? 'w' : 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CanopyError('ERR_USAGE', `a key file already exists at ${file}; pass --force to replace it (contents signed with the old key stay valid)`);
    throw new CanopyError('ERR_KEY_INVALID', `cannot write the key file ${file}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, `${JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d })}\n`);
  } finally {
    closeSync(fd);
  }
  return { path: file, privateKey, publicKey: publicKeyText(privateKey) };
}

export function loadKeyFile(file: string): PublisherKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CanopyError('ERR_KEY_INVALID', missing ? `no publisher key at ${file}; create one with "canopy keys create"` : `cannot read the key file ${file}: ${(err as Error).message}`);
  }
  try {
    const jwk = JSON.parse(text) as Record<string, unknown>;
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') throw new Error('not an Ed25519 private key (JWK)');
    const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
    return { path: file, privateKey, publicKey: publicKeyText(privateKey) };
  } catch (err) {
    throw new CanopyError('ERR_KEY_INVALID', `the key file ${file} is not a Canopy publisher key: ${(err as Error).message}`);
  }
}

/** Loads the key file at `file`, creating it if there is none yet. */
export function loadOrCreateKeyFile(file: string, onCreate?: (key: PublisherKey) => void): PublisherKey {
  try {
    return loadKeyFile(file);
  } catch (err) {
    if (!(err instanceof CanopyError) || !err.message.startsWith('no publisher key')) throw err;
    const key = createKeyFile(file);
    onCreate?.(key);
    return key;
  }
}

/** Loads the key at `file`; with no file given, the default key, created on first use. */
export function loadPublisherKey(file: string | undefined, onCreate?: (key: PublisherKey) => void): PublisherKey {
  return file !== undefined ? loadKeyFile(path.resolve(file)) : loadOrCreateKeyFile(defaultKeyPath(), onCreate);
}

/**
 * The public key named by `spec`: the key itself (43 characters of base64url), or a key file
 * (a publisher key file, or any Ed25519 JWK with `x`: the public part is enough).
 */
export function publicKeyOf(spec: string): string {
  if (isPublicKeyText(spec)) return spec;
  let text: string;
  try {
    text = readFileSync(path.resolve(spec), 'utf8');
  } catch (err) {
    throw new CanopyError('ERR_KEY_INVALID', `"${String(spec).slice(0, 200)}" is neither an Ed25519 public key (43 characters of base64url) nor a readable key file: ${(err as Error).message}`);
  }
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CanopyError('ERR_KEY_INVALID', `the key file ${spec} is not JSON`);
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !isPublicKeyText(jwk.x)) throw new CanopyError('ERR_KEY_INVALID', `the key file ${spec} is not an Ed25519 key (JWK with kty OKP, crv Ed25519, x)`);
  return jwk.x;
}
