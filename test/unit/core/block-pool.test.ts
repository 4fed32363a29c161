import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPageAligned } from '../../../src/core/aligned-memory.js';
import { BlockPool, configuredPoolBytes, DEFAULT_POOL_BYTES, MIN_POOLED_BYTES, POISON, SLAB_BYTES, sizeClass, type Lease } from '../../../src/core/block-pool.js';
import { CanopyError } from '../../../src/core/errors.js';

const MiB = 2 ** 20;

describe('BlockPool', () => {
  it('takes its bound from CANOPY_BLOCK_POOL, 32 MiB by default, and refuses a bad size', () => {
    assert.equal(configuredPoolBytes({}), DEFAULT_POOL_BYTES);
    assert.equal(DEFAULT_POOL_BYTES, 32 * MiB);
    assert.equal(configuredPoolBytes({ CANOPY_BLOCK_POOL: '8MiB' }), 8 * MiB);
    assert.throws(() => configuredPoolBytes({ CANOPY_BLOCK_POOL: 'lots' }), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_SIZE_SYNTAX');
  });

  it('rounds sizes up to a power of two and reuses a released buffer for the next take of its class', () => {
    assert.equal(sizeClass(1), MIN_POOLED_BYTES);
    assert.equal(sizeClass(MiB), MiB);
    assert.equal(sizeClass(MiB + 1), 2 * MiB);
    const pool = new BlockPool(8 * MiB);
    const a = pool.take(MiB - 100);
    assert.equal(a.bytes.length, MiB - 100);
    const at = (l: Lease) => [l.bytes.buffer, l.bytes.byteOffset];
    const backing = at(a);
    a.release();
    const b = pool.take(700 * 1024); // same class (1 MiB)
    assert.deepEqual(at(b), backing);
    assert.equal(b.bytes.length, 700 * 1024);
    const c = pool.take(MiB);
    assert.notDeepEqual(at(c), backing); // b still holds it
    assert.deepEqual({ ...pool.stats(), lost: 0 }, { freeBytes: 0, freeBuffers: 0, maxBytes: 8 * MiB, leased: 2, leasedBytes: 2 * MiB, reused: 1, allocated: 2, dropped: 0, trimmedBytes: 0, lost: 0 });
  });

  it('keeps at most its bound idle, and leaves small requests and a zero-size pool unpooled', () => {
    const pool = new BlockPool(2 * MiB);
    const leases = [pool.take(MiB), pool.take(MiB), pool.take(MiB)];
    for (const l of leases) l.release();
    assert.equal(pool.stats().freeBytes, 2 * MiB);
    assert.equal(pool.stats().dropped, 1);
    const small = pool.take(1000);
    assert.equal(small.pooled, false);
    small.release();
    const off = new BlockPool(0);
    const l = off.take(MiB);
    assert.equal(l.pooled, false);
    l.release();
    assert.equal(off.stats().freeBytes, 0);
  });

  it('returns a buffer only when its last reference goes', () => {
    const pool = new BlockPool(8 * MiB, true);
    const a = pool.take(MiB);
    a.bytes.fill(7);
    a.retain();
    a.release();
    assert.equal(a.bytes[0], 7); // one reference left: untouched
    assert.equal(pool.stats().freeBuffers, 0);
    a.release();
    assert.equal(pool.stats().freeBuffers, 1);
    assert.equal(a.bytes[0], POISON); // poisoned on return
    assert.throws(() => a.retain(), /released/);
    assert.throws(() => a.release(), /more often/);
  });

  it('in poison mode, catches a write into a released buffer when the buffer is taken again', () => {
    const pool = new BlockPool(8 * MiB, true);
    const a = pool.take(MiB);
    const kept = a.bytes; // a bug: keeping the bytes past the release
    a.release();
    kept[12345] = 1;
    assert.throws(() => pool.take(MiB), /written at byte 12345/);
  });

  it('never hands out bytes that a live lease still holds (random take/retain/release sequences)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(2), fc.nat(7), fc.integer({ min: MIN_POOLED_BYTES, max: 2 * MiB })), { maxLength: 60 }), (ops) => {
        const pool = new BlockPool(4 * MiB, true);
        const live: { lease: Lease; tag: number; refs: number }[] = [];
        let tag = 0;
        for (const [op, pick, size] of ops) {
          if (op === 0 || live.length === 0) {
            const lease = pool.take(size);
            tag = (tag + 1) % 200;
            lease.bytes.fill(tag);
            live.push({ lease, tag, refs: 1 });
            continue;
          }
          const entry = live[pick % live.length]!;
          if (op === 1) {
            entry.lease.retain();
            entry.refs++;
          } else {
            // Before its last release, every byte is still the holder's own.
            assert.ok(entry.lease.bytes.equals(Buffer.alloc(entry.lease.bytes.length, entry.tag)));
            entry.lease.release();
            if (--entry.refs === 0) live.splice(live.indexOf(entry), 1);
          }
        }
        for (const e of live) assert.ok(e.lease.bytes.equals(Buffer.alloc(e.lease.bytes.length, e.tag)));
        assert.equal(pool.stats().leased, live.length);
      }),
      { numRuns: 60 },
    );
  });
  it('cuts every buffer from page-aligned slabs, and serves a slab with leases first so the others empty out', () => {
    const pool = new BlockPool(32 * MiB, true, 0);
    const sizes = [MIN_POOLED_BYTES, 300 * 1024, MiB, 3 * MiB, 5 * MiB];
    for (const n of sizes) {
      const l = pool.take(n);
      assert.ok(isPageAligned(l.bytes), `a ${n}-byte lease starts on a page`);
      l.release();
    }
    // Two slabs of 1 MiB buffers; give back all of one and one of the other.
    const leases = Array.from({ length: 8 }, () => pool.take(MiB));
    const slabOf = (l: Lease) => l.bytes.buffer;
    const [first, second] = [slabOf(leases[0]!), slabOf(leases[7]!)];
    assert.notEqual(first, second);
    for (const l of leases.filter((x) => slabOf(x) === first)) l.release();
    leases.find((x) => slabOf(x) === second)!.release();
    // The next take comes from the slab that still has leases, not from the idle one.
    assert.equal(slabOf(pool.take(MiB)), second);
  });

  it('gives back whole unused slabs a quiet period after a burst, keeps what the recent peak needs and the floor', () => {
    const pool = new BlockPool(32 * MiB, true, 4 * MiB, 60_000);
    const burst = Array.from({ length: 16 }, () => pool.take(MiB)); // 4 slabs
    for (const l of burst.slice(4)) l.release();
    assert.equal(pool.stats().freeBytes, 12 * MiB);
    pool.trim(); // within the burst's period: its peak (16 MiB) may come back
    assert.equal(pool.stats().freeBytes, 12 * MiB);
    pool.trim(); // a quiet period later: only the floor stays idle, in slabs nobody leases
    assert.equal(pool.stats().freeBytes, 4 * MiB);
    assert.equal(pool.stats().trimmedBytes, 8 * MiB);
    // A slab with a lease is never given back; the leased buffers are untouched.
    burst.slice(0, 4).forEach((l, i) => l.bytes.fill(i + 1));
    pool.trim();
    pool.trim();
    burst.slice(0, 4).forEach((l, i) => assert.ok(l.bytes.equals(Buffer.alloc(MiB, i + 1))));
    for (const l of burst.slice(0, 4)) l.release();
    assert.equal(pool.stats().leasedBytes, 0);
    pool.trim();
    assert.equal(pool.stats().freeBytes, 4 * MiB);
    // The floor is reused as it is (no allocation), and a steady load keeps its buffers.
    const before = pool.stats().allocated;
    for (let round = 0; round < 3; round++) {
      const steady = Array.from({ length: 6 }, () => pool.take(MiB));
      steady.forEach((l) => l.release());
      pool.trim();
    }
    assert.equal(pool.stats().allocated, before + 2);
    assert.equal(pool.stats().freeBytes, 6 * MiB);
    assert.equal(SLAB_BYTES, 4 * MiB);
  });
});
