import { createHash, webcrypto } from 'node:crypto';

export const HASH_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isHashHex(value: unknown): value is string {
  return typeof value === 'string' && HASH_HEX.test(value);
}

/**
 * SHA-256 on libuv's thread pool (WebCrypto), so a server hashing blocks it is about to
 * send keeps its event loop free for the sockets meanwhile. Same result as sha256Hex.
 */
export async function sha256HexOffThread(data: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}
