import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockPool, POISON, unpooled } from '../../../src/core/block-pool.js';
import { CanopyError } from '../../../src/core/errors.js';
import { BlockCache, configuredCacheBytes, DEFAULT_CACHE_BYTES } from '../../../src/vfile/block-cache.js';

describe('BlockCache', () => {
  it('takes its size from CANOPY_BLOCK_CACHE, 32 MiB by default, and refuses a bad size', () => {
    assert.equal(configuredCacheBytes({}), DEFAULT_CACHE_BYTES);
    assert.equal(DEFAULT_CACHE_BYTES, 32 * 2 ** 20);
    assert.equal(configuredCacheBytes({ CANOPY_BLOCK_CACHE: '8MiB' }), 8 * 2 ** 20);
    assert.equal(configuredCacheBytes({ CANOPY_BLOCK_CACHE: '0' }), 0);
    assert.throws(() => configuredCacheBytes({ CANOPY_BLOCK_CACHE: 'lots' }), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_SIZE_SYNTAX');
  });

  it('keeps at most its size in blocks, oldest out first, and merges loads of one block', async () => {
    const cache = new BlockCache(3 * 1000);
    let loads = 0;
    const load = (n: number) => () => {
      loads++;
      return Promise.resolve(unpooled(Buffer.alloc(1000, n)));
    };
    const [a, b] = await Promise.all([cache.get('a', 1000, load(1)), cache.get('a', 1000, load(1))]);
    assert.equal(a.bytes, b.bytes);
    for (const h of ['b', 'c', 'd']) await cache.get(h, 1000, load(2));
    assert.equal(loads, 4);
    await cache.get('d', 1000, load(2)); // held
    await cache.get('a', 1000, load(1)); // the oldest: evicted, loaded again
    assert.equal(loads, 5);
    const off = new BlockCache(0);
    await off.get('x', 10, load(3));
    await off.get('x', 10, load(3));
    assert.equal(loads, 7);
  });

  it('holds a reference of its own per entry: an evicted block stays its readers\' until they release it', async () => {
    const MiB = 2 ** 20;
    const pool = new BlockPool(8 * MiB, true);
    const cache = new BlockCache(2 * MiB);
    const load = (n: number) => () => {
      const lease = pool.take(MiB);
      lease.bytes.fill(n);
      return Promise.resolve(lease);
    };
    const reader = await cache.get('a', MiB, load(1)); // the reader's reference, and the cache's
    const again = await cache.get('a', MiB, load(9)); // a hit: a third reference
    assert.equal(again.bytes[0], 1);
    again.release();
    await cache.get('b', MiB, load(2)).then((l) => l.release());
    await cache.get('c', MiB, load(3)).then((l) => l.release()); // evicts 'a'
    await new Promise((r) => setImmediate(r));
    assert.equal(reader.bytes[0], 1); // the reader still holds it: not returned, not poisoned
    assert.equal(pool.stats().leased, 3);
    reader.release();
    assert.equal(reader.bytes[0], POISON);
    assert.equal(pool.stats().leased, 2); // 'b' and 'c', held by the cache
  });
});
