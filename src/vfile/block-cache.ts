/**
 * A small shared cache of verified blocks, bounded in bytes. Readers of the same content
 * at about the same place (several players of one film, a benchmark's parallel clients)
 * then share one block buffer and one disk read per block instead of paying them each;
 * concurrent loads of one block are also merged. Entries are evicted oldest-first.
 *
 * 64 MiB. Tried 16 MiB once blocks were no longer re-hashed on every read: the edge bench
 * (8 clients, 256 MiB) then cost 1.37 CPU s/GiB against 1.07 at 64 MiB (clients that
 * drift apart miss and each pays a read and a fresh block buffer) for 13 MiB less RSS;
 * load 35-40 and another bench beside the 16 MiB run, so not a clean comparison: kept the known one.
 */
export const DEFAULT_CACHE_BYTES = 64 * 2 ** 20;

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
