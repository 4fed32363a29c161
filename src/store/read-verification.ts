/**
 * Which blocks this run of the node may read without hashing them. The rule (docs/STORE.md,
 * "Verification"): a block this run found on disk (written by an earlier run, or by another
 * process) is hashed on its first read; a block this run wrote itself is trusted from the
 * moment its write is durable, because its hash was computed in this process from the very
 * bytes that were written (`written`); later reads trust either check. `verifyReads:
 * 'every'` hashes every read; `'found'` is the default; `'first'` also hashes the first
 * read of a block this run wrote (the rule until session 7: it checks what the disk gives
 * back once per run, at one SHA-256 pass per byte written and served).
 *
 * Held in memory, bounded: past `limit` hashes the set is cleared, which only means some
 * blocks are hashed again (the safe direction).
 */
import { CanopyError } from '../core/errors.js';

export type VerifyReads = 'found' | 'first' | 'every';

export const VERIFIED_LIMIT = 200_000;

/** The mode `CANOPY_VERIFY_READS` asks for (`found` when unset); another value is a clear error, not a silent default. */
export function verifyReadsFromEnv(value = process.env.CANOPY_VERIFY_READS): VerifyReads {
  if (value === undefined || value === '') return 'found';
  if (value === 'found' || value === 'first' || value === 'every') return value;
  throw new CanopyError('ERR_CONFIG_INVALID', `CANOPY_VERIFY_READS=${value}: expected found (the default), first or every`);
}

export class ReadVerification {
  private readonly verified = new Set<string>();

  constructor(
    readonly mode: VerifyReads = 'found',
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

  /** This run wrote the block (durable, indexed) from bytes it had hashed itself: trusted unless the mode says otherwise. */
  written(hash: string): void {
    if (this.mode === 'found') this.passed(hash);
  }

  /** The block is gone or was rewritten: its next read hashes again. */
  forget(hash: string): void {
    this.verified.delete(hash);
  }

  get size(): number {
    return this.verified.size;
  }
}
