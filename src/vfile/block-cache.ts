/**
 * A small shared cache of verified blocks, bounded in bytes. Readers of the same content
 * at about the same place (several players of one film, a benchmark's parallel clients)
 * then share one block buffer and one disk read per block instead of paying them each;
 * concurrent loads of one block are also merged. Entries are evicted oldest-first.
 *
 * Size: `CANOPY_BLOCK_CACHE` (a size: `16MiB`; `0` turns sharing off), by default 32 MiB.
 * It was 64 MiB; with the node itself at ~77 MiB idle (from dist/) that alone put an edge
 * node past 150 MiB, and a 100 MiB node cannot spare it. Blocks are no longer hashed on
 * every read (store/read-verification.ts) and the page cache keeps recent block files, so
 * a miss costs a read and a fresh buffer, not a hash. Readers a few blocks apart still
 * share (32 MiB is 8 blocks of 4 MiB, 32 of 1 MiB). Edge bench, 8 clients, 1 MiB blocks
 * (Session 5, load 5-9): 32 MiB: node peak RSS 186-192 MiB, 0.92-1.10 CPU s/GiB; 8 MiB:
 * 216 MiB and 1.84 (each miss is a block buffer per reader until GC); 64 MiB (Session 4,
 * load 9-16): 190-209 MiB, 0.92-1.13.
 */
import type { Lease } from '../core/block-pool.js';
import { sizeFromEnv } from '../core/sizes.js';

export const DEFAULT_CACHE_BYTES = 32 * 2 ** 20;

/** The cache size the operator asked for (CANOPY_BLOCK_CACHE), else the default; a bad value is an error at start. */
export function configuredCacheBytes(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv(env, 'CANOPY_BLOCK_CACHE', DEFAULT_CACHE_BYTES);
}

export class BlockCache {
  private readonly entries = new Map<string, { data: Promise<Lease>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes = configuredCacheBytes()) {}

  /**
   * The cached block, or `load()` (whose result is kept if it succeeds and fits). The lease
   * returned holds a reference of the caller's own, to release when done; the cache holds
   * another while the entry lasts (core/block-pool.ts).
   */
  get(hash: string, length: number, load: () => Promise<Lease>): Promise<Lease> {
    const hit = this.entries.get(hash);
    if (hit) {
      this.entries.delete(hash);
      this.entries.set(hash, hit); // Most recently used last.
      // Reactions run in the order they were added: this retain runs before the release of an eviction that follows it.
      return hit.data.then((lease) => lease.retain());
    }
    const data = load();
    if (length > this.maxBytes) return data;
    // The cache's own reference, taken before the caller can release theirs.
    const kept = data.then((lease) => lease.retain());
    this.entries.set(hash, { data: kept, bytes: length });
    this.bytes += length;
    kept.catch(() => {
      if (this.entries.get(hash)?.data === kept) this.drop(hash);
    });
    while (this.bytes > this.maxBytes) this.drop(this.entries.keys().next().value!);
    return data;
  }

  private drop(hash: string): void {
    const e = this.entries.get(hash);
    if (!e) return;
    this.entries.delete(hash);
    this.bytes -= e.bytes;
    e.data.then(
      (lease) => lease.release(),
      () => undefined,
    );
  }
}
