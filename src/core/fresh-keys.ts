/**
 * New key pairs, taken from the generator already encoded, never as the KeyObject it made.
 *
 * Why: on Node 20 a KeyObject made by `generateKeyPair[Sync]` shares a mutex with the key
 * generation job that made it, and exporting the key (JWK, PEM) holds that mutex while it
 * allocates on the JavaScript heap. If that allocation runs a garbage collection that frees
 * the finished job, the job's destructor takes the same mutex and the process sleeps for
 * good: no CPU, no error, no progress. Seen as a node or `canopy demo` that never became
 * ready (a CI run stuck for 20 minutes; gdb: ExportJWKEdKey → GC → ~KeyGenJob →
 * uv_mutex_lock), reproduced by generating Ed25519 pairs and exporting them as JWK in a
 * loop (a hang within 20,000 pairs in 2 runs of 3 on Node 20.19; none on Node 24).
 * Asked for DER or PEM, the generator encodes inside the job while the job is alive, and a
 * key made again from those bytes has a mutex of its own that no job ever takes.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A new Ed25519 private key (its public half: `createPublicKey(key)`). */
export function newEd25519PrivateKey(): KeyObject {
  const { privateKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
}

/** A new ECDSA P-256 pair, PEM: PKCS#8 private key, SPKI public key. */
export function newP256PemPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
