/**
 * Block-sized buffers, reused. glibc serves a freed 1 MiB Buffer's memory from its main
 * heap once its dynamic mmap threshold has risen past 1 MiB, and then fragments that heap
 * around the small allocations made between two blocks: a node reading and sending blocks
 * all day grew by 40-80 MiB an hour (notes/issue-25.md, Session 5). Buffers taken here
 * come back here when their last user is done, so the allocator sees them once.
 *
 * Ownership is explicit: `take` gives a `Lease` holding one reference; whoever keeps the
 * bytes beyond the current call (a cache entry, a socket write in flight) `retain`s it and
 * `release`s it when done; the buffer goes back to the pool when the count reaches zero.
 * A lease that is never released is not an error: its buffer is collected as any other
 * (the pool counts it as lost when the collector reports it). Releasing too early is the
 * one dangerous mistake (the bytes would be overwritten while still being sent), so the
 * poison mode (CANOPY_POOL_POISON=1, turned on by the tests) fills every returned buffer
 * with POISON and checks it is still intact when taken again: a reader of a released
 * buffer then sees poison bytes instead of plausible data, and a writer to one is caught.
 *
 * Bounded: at most `maxBytes` of free buffers are kept (`CANOPY_BLOCK_POOL`, a size,
 * default 32 MiB; `0` turns reuse off); buffers released past that are left to the
 * collector. Sizes are rounded up to a power of two from MIN_POOLED_BYTES, so blocks cut
 * by content (cdc) share buffers too; smaller requests get plain, unpooled buffers.
 */
import { parseSize } from './sizes.js';

export const MIN_POOLED_BYTES = 256 * 1024;
export const DEFAULT_POOL_BYTES = 32 * 2 ** 20;
export const POISON = 0xdb;

export interface BlockPoolStats {
  /** Bytes of free buffers held for reuse (sizes rounded up). */
  freeBytes: number;
  freeBuffers: number;
  maxBytes: number;
  /** Leases taken and not yet released. */
  leased: number;
  /** Takes served from a free buffer. */
  reused: number;
  /** Takes that had to allocate. */
  allocated: number;
  /** Released buffers left to the collector because the pool was full. */
  dropped: number;
  /** Leases collected without being released (harmless; a sign of a path that forgets). */
  lost: number;
}

/** One user's share of a buffer. `bytes` is exactly the length asked for. */
export class Lease {
  private refs = 1;

  constructor(
    readonly bytes: Buffer,
    private readonly backing: Buffer | undefined,
    private readonly pool: BlockPool | undefined,
  ) {}

  /** Another reference (a cache entry, a write in flight); each needs its own release. */
  retain(): this {
    if (this.refs <= 0) throw new Error('retain of a released block buffer');
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one returns the buffer. A release too many is ignored (and counted, in poison mode it throws). */
  release(): void {
    if (this.refs <= 0) {
      this.pool?.overReleased();
      return;
    }
    if (--this.refs === 0 && this.backing) this.pool!.give(this.backing, this);
  }

  /** Whether the bytes go back to a pool (and so must be copied to be kept past the release). */
  get pooled(): boolean {
    return this.backing !== undefined;
  }

  get released(): boolean {
    return this.refs <= 0;
  }
}

/** A lease on bytes that belong to nobody's pool (fetched, or too small to pool): release does nothing. */
export function unpooled(bytes: Buffer): Lease {
  return new Lease(bytes, undefined, undefined);
}

/** The pool size the operator asked for (CANOPY_BLOCK_POOL), else the default; a bad value is an error at start. */
export function configuredPoolBytes(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.CANOPY_BLOCK_POOL;
  return text === undefined || text === '' ? DEFAULT_POOL_BYTES : parseSize(text);
}

/** The size class of a request: the next power of two, at least MIN_POOLED_BYTES. */
export function sizeClass(length: number): number {
  let c = MIN_POOLED_BYTES;
  while (c < length) c *= 2;
  return c;
}

export class BlockPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  private leased = 0;
  private reused = 0;
  private allocated = 0;
  private dropped = 0;
  private lost = 0;
  private overReleases = 0;
  /** Leases not yet released, by the buffer they hold: the collector tells us of forgotten ones. */
  private readonly forgotten = new FinalizationRegistry<number>(() => {
    this.leased--;
    this.lost++;
  });

  constructor(
    readonly maxBytes = configuredPoolBytes(),
    public poison = process.env.CANOPY_POOL_POISON === '1',
  ) {}

  /** A buffer of exactly `length` bytes (contents undefined), as a lease with one reference. */
  take(length: number): Lease {
    if (length < MIN_POOLED_BYTES || this.maxBytes === 0) return unpooled(Buffer.allocUnsafe(length));
    const size = sizeClass(length);
    let backing = this.free.get(size)?.pop();
    if (backing) {
      this.freeBytes -= size;
      this.reused++;
      if (this.poison) checkPoison(backing);
    } else {
      // Slow: not cut from Node's shared 8 KiB slab; a whole buffer of its own to hand back.
      backing = Buffer.allocUnsafeSlow(size);
      this.allocated++;
    }
    this.leased++;
    const lease = new Lease(backing.subarray(0, length), backing, this);
    this.forgotten.register(lease, size, lease);
    return lease;
  }

  /** Called by a lease whose last reference went. */
  give(backing: Buffer, lease: Lease): void {
    this.forgotten.unregister(lease);
    this.leased--;
    if (this.poison) backing.fill(POISON);
    if (this.freeBytes + backing.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    const list = this.free.get(backing.length) ?? [];
    list.push(backing);
    this.free.set(backing.length, list);
    this.freeBytes += backing.length;
  }

  overReleased(): void {
    this.overReleases++;
    if (this.poison) throw new Error('block buffer released more often than it was retained');
  }

  /** Frees every idle buffer (a node going quiet, or a test). */
  clear(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  stats(): BlockPoolStats {
    let freeBuffers = 0;
    for (const l of this.free.values()) freeBuffers += l.length;
    return { freeBytes: this.freeBytes, freeBuffers, maxBytes: this.maxBytes, leased: this.leased, reused: this.reused, allocated: this.allocated, dropped: this.dropped, lost: this.lost };
  }

  get overReleaseCount(): number {
    return this.overReleases;
  }
}

const POISONED = Buffer.alloc(MIN_POOLED_BYTES, POISON);

/** A free buffer must still hold only poison: anything else was written after its release. */
function checkPoison(b: Buffer): void {
  for (let at = 0; at < b.length; at += POISONED.length) {
    const part = b.subarray(at, at + POISONED.length);
    if (part.equals(POISONED.subarray(0, part.length))) continue;
    const k = part.findIndex((x) => x !== POISON);
    throw new Error(`a released block buffer was written at byte ${at + k}`);
  }
}

/** The process's pool: block reads, the block cache and upload staging share it. */
export const blockPool = new BlockPool();
