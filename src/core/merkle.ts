/**
 * The Merkle root over a content's block hashes, so one 32-byte value commits to every
 * block in order (and a later partial-proof protocol can build on it). Leaves are the block
 * hashes themselves; an interior node is SHA-256(0x01 || left || right); a node without a
 * sibling is carried up unchanged. The root of no blocks is SHA-256 of the empty string.
 */
import { createHash } from 'node:crypto';

const INTERIOR = Buffer.from([1]);

export function merkleRoot(hashes: readonly string[]): string {
  if (hashes.length === 0) return createHash('sha256').digest('hex');
  let level: Buffer[] = hashes.map((h) => Buffer.from(h, 'hex'));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(right ? createHash('sha256').update(INTERIOR).update(level[i]!).update(right).digest() : level[i]!);
    }
    level = next;
  }
  return level[0]!.toString('hex');
}
