/**
 * Recent verified blocks (src/swarm/recent-blocks.ts): a peer asking for a block this node
 * has just verified is answered from memory. Bounded by bytes, oldest out first, all let go
 * once no block has come for a while; only what the relay feeds complete (verified) enters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecentBlocks } from '../../../src/swarm/recent-blocks.js';
import { RelayFeeds } from '../../../src/swarm/relay-feed.js';

const block = (n: number, size = 100) => [Buffer.alloc(size / 2, n), Buffer.alloc(size / 2, n + 1)];

describe('recent blocks', () => {
  it('keeps the newest blocks within its byte bound, as the same views', () => {
    const recent = new RecentBlocks(250);
    const blocks = [block(1), block(2), block(3)];
    blocks.forEach((b, i) => recent.add('c', i, b));
    assert.equal(recent.size, 200);
    assert.equal(recent.get('c', 0), undefined);
    assert.equal(recent.get('c', 1), blocks[1]);
    assert.equal(recent.get('c', 2)![0], blocks[2]![0]);
    assert.equal(recent.get('other', 2), undefined);
    assert.deepEqual([recent.hits, recent.misses], [2, 2]);
    // Added again: counted once; a block larger than the bound is never kept.
    recent.add('c', 2, blocks[2]!);
    recent.add('c', 9, block(9, 400));
    assert.equal(recent.size, 200);
    assert.equal(recent.get('c', 9), undefined);
    recent.drop('c');
    assert.equal(recent.size, 0);
  });

  it('lets everything go once no block has come for its keep time', async () => {
    const recent = new RecentBlocks(1000, 30);
    recent.add('c', 0, block(1));
    recent.add('c', 1, block(2));
    assert.equal(recent.size, 200);
    await sleep(80);
    assert.equal(recent.size, 0);
  });

  it('holds only what a relay feed completed (verified), not pieces still arriving or lost', () => {
    const feeds = new RelayFeeds();
    const feed = feeds.open('c', 0, 100)!;
    feed.push([Buffer.alloc(50, 1)]);
    assert.equal(feeds.recent.get('c', 0), undefined);
    feeds.abort('c', 0, 'source gone');
    assert.equal(feeds.recent.get('c', 0), undefined);
    const whole = block(5);
    feeds.open('c', 1, 100)!.push([whole[0]!]);
    feeds.complete('c', 1, whole);
    assert.equal(feeds.recent.get('c', 1), whole);
    // The download ending does not drop them: the last blocks are what peers ask for next.
    feeds.drop('c', 'the download stopped');
    assert.equal(feeds.recent.get('c', 1), whole);
    feeds.recent.clear();
  });
});
