import { createHash } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export const HASH_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isHashHex(value: unknown): value is string {
  return typeof value === 'string' && HASH_HEX.test(value);
}

/** How much a read-back hash takes in one step before it lets the event loop run. */
export const HASH_STEP_BYTES = 1 << 20;

/**
 * SHA-256 of a block read back from disk, on this thread, in 1 MiB steps with the event
 * loop let in between (a large block never holds it for more than ~1 ms at a time).
 * Replaces WebCrypto's digest on the thread pool, which copies its input first: each copy
 * is a fresh block-sized allocation whose pages the kernel faults in one by one, and that
 * cost ~50 % on top of the hash here (256 MiB: 250 vs 165 ms CPU; notes/issue-15.md Session 6).
 */
export async function sha256HexStepped(data: Uint8Array): Promise<string> {
  const h = createHash('sha256');
  for (let at = 0; at < data.length; at += HASH_STEP_BYTES) {
    if (at > 0) await yieldToLoop();
    h.update(data.subarray(at, Math.min(data.length, at + HASH_STEP_BYTES)));
  }
  return h.digest('hex');
}
