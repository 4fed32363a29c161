/**
 * Which blocks this run of the node has already read back and found to hash to their
 * name. The rule (docs/STORE.md, "Verification"): a block is hashed on its first read in
 * each run of the store; later reads in the same run trust that check, unless the store
 * is opened with `verifyReads: 'every'`. Blocks *written* in this run are not counted as
 * verified (the write checked the bytes in memory, not what the disk returns), so the
 * first read of every block, new or old, goes through the hash.
 *
 * Held in memory, bounded: past `limit` hashes the set is cleared, which only means some
 * blocks are hashed again (the safe direction).
 */
export type VerifyReads = 'first' | 'every';

export const VERIFIED_LIMIT = 200_000;

export class ReadVerification {
  private readonly verified = new Set<string>();

  constructor(
    readonly mode: VerifyReads = 'first',
    private readonly limit = VERIFIED_LIMIT,
  ) {}

  /** Whether a read of this block must hash it. */
  mustHash(hash: string): boolean {
    return this.mode === 'every' || !this.verified.has(hash);
  }

  /** The block's bytes as read from disk matched its hash. */
  passed(hash: string): void {
    if (this.mode === 'every') return;
    if (this.verified.size >= this.limit) this.verified.clear();
    this.verified.add(hash);
  }

  /** The block is gone or was rewritten: its next read hashes again. */
  forget(hash: string): void {
    this.verified.delete(hash);
  }

  get size(): number {
    return this.verified.size;
  }
}
