/**
 * The last few blocks this node received and verified, kept as the pieces they arrived in,
 * so a peer that asks for one soon after (the usual case in a swarm: a node's new block is
 * what its neighbours lack) is answered from memory. Served from the store instead, each
 * such block costs a disk read into a fresh block-sized buffer (more garbage to collect)
 * and, on the first read of the run, a second SHA-256 of bytes this process hashed moments
 * before (read-verification in the store). A small saving (a few % of a node's CPU per byte,
 * notes/issue-17.md session 6), at a bounded memory cost.
 *
 * Only verified bytes enter (the block's pieces once the store has checked and kept them),
 * so serving from here is serving the block. Bounded by bytes, oldest out first; the pieces
 * are views into buffers the receive path allocated anyway, so nothing is copied.
 */
import { byteLength, type BlockBytes } from '../core/block-bytes.js';

/** Bytes of recent blocks a node keeps: four 4 MiB blocks, about one second of receiving at 100 Mbit. */
export const RECENT_BLOCK_BYTES = 16 * 1024 * 1024;
/** With no new block for this long, all are let go: an idle node holds none. */
export const RECENT_BLOCK_MS = 20_000;

export class RecentBlocks {
  private readonly blocks = new Map<string, readonly Buffer[]>();
  private bytes = 0;
  /** Lookups answered and missed, for the bench and tests. */
  hits = 0;
  misses = 0;

  private expiry: NodeJS.Timeout | undefined;

  constructor(
    private readonly limit = RECENT_BLOCK_BYTES,
    private readonly keepMs = RECENT_BLOCK_MS,
  ) {}

  /** A block verified and kept here: remembered, the oldest dropped past the limit. */
  add(contentId: string, index: number, whole: BlockBytes): void {
    const parts = Buffer.isBuffer(whole) ? [whole] : (whole as readonly Buffer[]);
    const size = byteLength(parts);
    if (size > this.limit) return;
    const key = `${contentId}/${index}`;
    this.remove(key);
    this.blocks.set(key, parts);
    this.bytes += size;
    for (const [old, oldParts] of this.blocks) {
      if (this.bytes <= this.limit) break;
      this.blocks.delete(old);
      this.bytes -= byteLength(oldParts);
    }
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.clear(), this.keepMs).unref();
  }

  /** The verified bytes of a recent block, if still kept. */
  get(contentId: string, index: number): readonly Buffer[] | undefined {
    const parts = this.blocks.get(`${contentId}/${index}`);
    if (parts) this.hits++;
    else this.misses++;
    return parts;
  }

  /** The content's download ended or it is gone: its blocks are served from the store only. */
  drop(contentId: string): void {
    for (const key of [...this.blocks.keys()]) if (key.startsWith(`${contentId}/`)) this.remove(key);
  }

  get size(): number {
    return this.bytes;
  }

  clear(): void {
    clearTimeout(this.expiry);
    this.blocks.clear();
    this.bytes = 0;
  }

  private remove(key: string): void {
    const parts = this.blocks.get(key);
    if (!parts) return;
    this.blocks.delete(key);
    this.bytes -= byteLength(parts);
  }
}
