/**
 * A small shared cache of verified blocks, bounded in bytes. Readers of the same content
 * at about the same place (several players of one film, a benchmark's parallel clients)
 * then share one block buffer and one disk read per block instead of paying them each;
 * concurrent loads of one block are also merged. Entries are evicted oldest-first.
 *
 * 16 MiB: since the store hashes a block only on its first read in a run (docs/STORE.md),
 * the cache no longer saves hashing, and the kernel's page cache already keeps recent
 * blocks; what is left is merging readers that are close together, which a few blocks
 * do. At 64 MiB it was a third of an edge node's memory under 8 clients.
 */
export const DEFAULT_CACHE_BYTES = 16 * 2 ** 20;

export class BlockCache {
  private readonly entries = new Map<string, { data: Promise<Buffer>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_CACHE_BYTES) {}

  /** The cached block, or `load()` (whose result is kept if it succeeds and fits). */
  get(hash: string, length: number, load: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.entries.get(hash);
    if (hit) {
      this.entries.delete(hash);
      this.entries.set(hash, hit); // Most recently used last.
      return hit.data;
    }
    const data = load();
    if (length > this.maxBytes) return data;
    this.entries.set(hash, { data, bytes: length });
    this.bytes += length;
    data.catch(() => this.drop(hash));
    while (this.bytes > this.maxBytes) this.drop(this.entries.keys().next().value!);
    return data;
  }

  private drop(hash: string): void {
    const e = this.entries.get(hash);
    if (!e) return;
    this.entries.delete(hash);
    this.bytes -= e.bytes;
  }
}
