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
 * Buffers are cut from slabs: page-aligned memories of SLAB_BYTES (core/aligned-memory.ts),
 * which serves twice. The store writes a received block from its buffers as they are, with
 * O_DIRECT, instead of copying it into aligned staging first (store/direct-write.ts). And a
 * slab's memory is mapped for it alone, so dropping a slab gives its pages back to the
 * system, where a freed Buffer's memory stays in glibc's heap (RSS unchanged): the pool can
 * follow what is leased. It keeps idle what would let leases climb back to the last quiet
 * period's peak (at least `floorBytes`) and gives back whole unused slabs beyond that
 * (`trim`, every QUIET_MS while more than the floor is idle): a burst's memory goes back
 * after it, a steady load keeps its buffers (fresh pages cost ~21 µs each to touch here,
 * notes/issue-20.md, so churning them would cost 3-4 CPU-s per GiB).
 *
 * Bounded: at most `maxBytes` of free buffers are kept (`CANOPY_BLOCK_POOL`, a size,
 * default 32 MiB; `0` turns reuse off); buffers released past that are not used again.
 * Sizes are rounded up to a power of two from MIN_POOLED_BYTES, so blocks cut by content
 * (cdc) share buffers too; smaller requests get plain, unpooled buffers.
 */
import { alignedBuffers } from './aligned-memory.js';
import { sizeFromEnv } from './sizes.js';

export const MIN_POOLED_BYTES = 256 * 1024;
export const DEFAULT_POOL_BYTES = 32 * 2 ** 20;
/** Memory per slab: 16 buffers of 256 KiB, 4 of 1 MiB, one of 4 MiB or more. */
export const SLAB_BYTES = 4 * 2 ** 20;
/** Idle bytes always kept (a block in flight needs 4 MiB), whatever the recent load. */
export const FLOOR_BYTES = 4 * 2 ** 20;
/** How long a period of the load is remembered before its unused memory goes back. */
export const QUIET_MS = 10_000;
export const POISON = 0xdb;

export interface BlockPoolStats {
  /** Bytes of free buffers held for reuse (sizes rounded up). */
  freeBytes: number;
  freeBuffers: number;
  maxBytes: number;
  /** Leases taken and not yet released. */
  leased: number;
  /** Their bytes (sizes rounded up). */
  leasedBytes: number;
  /** Takes served from a free buffer. */
  reused: number;
  /** Takes that had to allocate. */
  allocated: number;
  /** Released buffers not used again because the pool was full. */
  dropped: number;
  /** Idle bytes given back to the system by `trim` (whole slabs). */
  trimmedBytes: number;
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
  return sizeFromEnv(env, 'CANOPY_BLOCK_POOL', DEFAULT_POOL_BYTES);
}

/** The size class of a request: the next power of two, at least MIN_POOLED_BYTES. */
export function sizeClass(length: number): number {
  let c = MIN_POOLED_BYTES;
  while (c < length) c *= 2;
  return c;
}

/**
 * One page-aligned memory (core/aligned-memory.ts) of about SLAB_BYTES, cut into buffers of
 * one size class. Its memory goes back to the system (munmap) once nothing refers to any of
 * its buffers, which the pool arranges by dropping a slab with none leased.
 */
class Slab {
  /** Buffers used before and given back: their pages are resident. */
  readonly idle: Buffer[] = [];
  /** Buffers never handed out: none of their pages is committed yet. */
  readonly fresh: Buffer[];
  leased = 0;

  constructor(readonly size: number) {
    this.fresh = alignedBuffers(size, Math.max(1, Math.floor(SLAB_BYTES / size)), false);
  }

  get empty(): boolean {
    return this.leased === 0 && this.idle.length === 0 && this.fresh.length === 0;
  }
}

export class BlockPool {
  /** Slabs by size class. */
  private readonly slabs = new Map<number, Slab[]>();
  private readonly slabOf = new WeakMap<Buffer, Slab>();
  private freeBytes = 0;
  private leased = 0;
  private leasedBytes = 0;
  /** Most bytes leased at once since the last trim; and in the period that trim ended. */
  private peak = 0;
  private previousPeak = 0;
  private reused = 0;
  private allocated = 0;
  private dropped = 0;
  private lost = 0;
  private trimmed = 0;
  private overReleases = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Leases not yet released: the collector tells us of forgotten ones (their slot is not reused). */
  private readonly forgotten = new FinalizationRegistry<Slab>((slab) => {
    this.leased--;
    this.lost++;
    this.returned(slab);
  });

  constructor(
    readonly maxBytes = configuredPoolBytes(),
    public poison = process.env.CANOPY_POOL_POISON === '1',
    readonly floorBytes = Math.min(maxBytes, FLOOR_BYTES),
    private readonly quietMs = QUIET_MS,
  ) {}

  /** A buffer of exactly `length` bytes (contents undefined), as a lease with one reference. */
  take(length: number): Lease {
    if (length < MIN_POOLED_BYTES || this.maxBytes === 0) return unpooled(Buffer.allocUnsafe(length));
    const size = sizeClass(length);
    const [slab, backing] = this.pick(size);
    slab.leased++;
    this.leased++;
    this.leasedBytes += size;
    if (this.leasedBytes > this.peak) this.peak = this.leasedBytes;
    const lease = new Lease(backing.subarray(0, length), backing, this);
    this.forgotten.register(lease, slab, lease);
    return lease;
  }

  /**
   * A used buffer if there is one (from the slab with the most leased, so the others empty
   * out and can be given back whole), else a never-used one, else a new slab's.
   */
  private pick(size: number): [Slab, Buffer] {
    let list = this.slabs.get(size);
    if (!list) this.slabs.set(size, (list = []));
    let best: Slab | undefined;
    for (const s of list) if (s.idle.length > 0 && (!best || s.leased > best.leased)) best = s;
    if (best) {
      const backing = best.idle.pop()!;
      this.freeBytes -= size;
      this.reused++;
      if (this.poison) checkPoison(backing);
      return [best, backing];
    }
    let slab = list.find((s) => s.fresh.length > 0);
    if (!slab) {
      slab = new Slab(size);
      for (const b of slab.fresh) this.slabOf.set(b, slab);
      list.push(slab);
    }
    this.allocated++;
    return [slab, slab.fresh.pop()!];
  }

  /** Called by a lease whose last reference went. */
  give(backing: Buffer, lease: Lease): void {
    this.forgotten.unregister(lease);
    const slab = this.slabOf.get(backing)!;
    this.leased--;
    if (this.poison) backing.fill(POISON);
    if (this.freeBytes + slab.size > this.maxBytes) {
      this.dropped++; // Its slot is not used again; the slab's memory goes when the slab does.
    } else {
      slab.idle.push(backing);
      this.freeBytes += slab.size;
    }
    this.returned(slab);
    this.schedule();
  }

  /** A leased buffer of `slab` came back (or was collected); a slab left with nothing is forgotten. */
  private returned(slab: Slab): void {
    slab.leased--;
    this.leasedBytes -= slab.size;
    if (slab.empty) this.remove(slab);
  }

  private remove(slab: Slab): void {
    const list = this.slabs.get(slab.size)!;
    list.splice(list.indexOf(slab), 1);
    this.freeBytes -= slab.idle.length * slab.size;
    slab.idle.length = 0;
    slab.fresh.length = 0;
  }

  /** A trim after a quiet period, while more than the floor is idle (the timer does not hold the process open). */
  private schedule(): void {
    if (this.timer || this.freeBytes <= this.floorBytes) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.trim();
      this.schedule();
    }, this.quietMs).unref();
  }

  /**
   * Ends a period and gives back idle memory it did not need: keeps what would let leases
   * climb back to that period's peak (or `floorBytes`, whichever is more) and drops whole slabs
   * with none leased until idle bytes are within that. Called every quiet period (QUIET_MS)
   * while more than the floor is idle, so memory a burst needed goes back one to two periods
   * after it, and a steady load keeps its buffers (no fresh pages on the hot path).
   */
  trim(): void {
    this.previousPeak = this.peak;
    this.peak = this.leasedBytes;
    const keep = Math.max(this.floorBytes, this.previousPeak - this.leasedBytes);
    for (const list of this.slabs.values()) {
      for (const slab of [...list]) {
        if (this.freeBytes <= keep) return;
        if (slab.leased > 0 || slab.idle.length === 0) continue;
        this.trimmed += slab.idle.length * slab.size;
        this.remove(slab);
      }
    }
  }

  overReleased(): void {
    this.overReleases++;
    if (this.poison) throw new Error('block buffer released more often than it was retained');
  }

  /** Frees every idle buffer (a node going quiet, or a test). */
  clear(): void {
    for (const list of this.slabs.values()) {
      for (const slab of [...list]) {
        this.freeBytes -= slab.idle.length * slab.size;
        slab.idle.length = 0;
        if (slab.leased === 0) this.remove(slab);
      }
    }
  }

  stats(): BlockPoolStats {
    let freeBuffers = 0;
    for (const list of this.slabs.values()) for (const s of list) freeBuffers += s.idle.length;
    return { freeBytes: this.freeBytes, freeBuffers, maxBytes: this.maxBytes, leased: this.leased, leasedBytes: this.leasedBytes, reused: this.reused, allocated: this.allocated, dropped: this.dropped, trimmedBytes: this.trimmed, lost: this.lost };
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
