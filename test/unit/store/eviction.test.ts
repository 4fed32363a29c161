import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderVictims } from '../../../src/store/eviction.js';

const MIB = 2 ** 20;
const c = (id: string, lastAccess: number, hits: number, bytes: number) => ({ id, name: id, lastAccess, hits, bytes });

describe('eviction order', () => {
  const candidates = [c('recent-rare', 300, 1, 100 * MIB), c('old-popular', 100, 5000, 100 * MIB), c('middle', 200, 50, 10 * MIB)];

  it('lru evicts the least recently read first', () => {
    assert.deepEqual(orderVictims(candidates, 'lru').map((x) => x.id), ['old-popular', 'middle', 'recent-rare']);
  });

  it('lfu evicts the fewest reads per MiB first', () => {
    assert.deepEqual(orderVictims(candidates, 'lfu').map((x) => x.id), ['recent-rare', 'middle', 'old-popular']);
  });

  it('breaks lru ties by size, largest first', () => {
    assert.deepEqual(orderVictims([c('small', 5, 0, MIB), c('big', 5, 0, 9 * MIB)], 'lru').map((x) => x.id), ['big', 'small']);
  });
});
