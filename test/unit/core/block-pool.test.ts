import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BlockPool, configuredPoolBytes, DEFAULT_POOL_BYTES, MIN_POOLED_BYTES, POISON, sizeClass, type Lease } from '../../../src/core/block-pool.js';
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
    const backing = a.bytes.buffer;
    a.release();
    const b = pool.take(700 * 1024); // same class (1 MiB)
    assert.equal(b.bytes.buffer, backing);
    assert.equal(b.bytes.length, 700 * 1024);
    const c = pool.take(MiB);
    assert.notEqual(c.bytes.buffer, backing); // b still holds it
    assert.deepEqual({ ...pool.stats(), lost: 0 }, { freeBytes: 0, freeBuffers: 0, maxBytes: 8 * MiB, leased: 2, reused: 1, allocated: 2, dropped: 0, lost: 0 });
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
});
