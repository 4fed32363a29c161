/**
 * Cut-through relay (src/swarm/relay-feed.ts): a reader gets a block's unverified pieces as
 * they arrive but never the whole block before it is verified; once verified it gets the
 * rest; if this node's copy fails it gets ERR_RELAY_ABORTED. `slices` cuts exact views.
 * The scheduler takes a lost relay as no fault: it asks elsewhere until the relay says `have`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { byteLength, joined, type BlockBytes } from '../../../src/core/block-bytes.js';
import { blockPool } from '../../../src/core/block-pool.js';
import { PIECE_BYTES, RelayFeed, ReplyViews, slices } from '../../../src/swarm/relay-feed.js';
import { RelayFeeds } from '../../../src/swarm/relay-feeds.js';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { SwarmScheduler } from '../../../src/swarm/scheduler.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Reads a feed in the background, recording bytes as they come. */
function reader(feed: RelayFeed) {
  const got: Buffer[] = [];
  const done = (async () => {
    for await (const p of feed.read()) got.push(joined(p as readonly Buffer[]));
  })();
  return { bytes: () => byteLength(got), all: () => Buffer.concat(got), done };
}

describe('relay feed', () => {
  it('slices any range of any parts into exact pieces of at most the size', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 50 }), { maxLength: 8 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 40 }), (arrays, a, b, size) => {
        const parts = arrays.map((x) => Buffer.from(x));
        const whole = Buffer.concat(parts);
        const from = whole.length === 0 ? 0 : a % (whole.length + 1);
        const to = from + (whole.length === 0 ? 0 : b % (whole.length - from + 1));
        const pieces = [...slices(parts, from, to, size)];
        assert.deepEqual(Buffer.concat(pieces.flat()), whole.subarray(from, to));
        for (const p of pieces) assert.ok(byteLength(p) <= size && byteLength(p) > 0);
      }),
    );
  });

  it('never hands over the whole block before it is verified, then the rest', async () => {
    const block = Buffer.from(Array.from({ length: 4 * PIECE_BYTES }, (_, i) => i & 0xff));
    const feed = new RelayFeed(block.length);
    const r = reader(feed);
    const upstream = [...slices([block], 0, block.length, PIECE_BYTES)];
    for (const p of upstream) {
      feed.push(p);
      await tick();
    }
    // All four pieces arrived; the completing one is held back until verification.
    assert.equal(r.bytes(), 3 * PIECE_BYTES);
    const late = reader(feed);
    await tick();
    assert.equal(late.bytes(), 3 * PIECE_BYTES);
    feed.complete(block);
    await r.done;
    await late.done;
    assert.deepEqual(r.all(), block);
    assert.deepEqual(late.all(), block);
  });

  it('a reader that arrives after verification reads the verified copy from where it is', async () => {
    const block = Buffer.alloc(PIECE_BYTES + 10, 3);
    const feed = new RelayFeed(block.length);
    feed.push([block.subarray(0, 5)]);
    const other = Buffer.from(block); // another copy verified first: same bytes
    feed.complete([other.subarray(0, 7), other.subarray(7)]);
    const r = reader(feed);
    await r.done;
    assert.deepEqual(r.all(), block);
  });

  it('ends every reader with ERR_RELAY_ABORTED when this copy fails', async () => {
    const feed = new RelayFeed(3 * PIECE_BYTES);
    const r = reader(feed);
    feed.push([Buffer.alloc(PIECE_BYTES)]);
    await tick();
    feed.abort('corrupt');
    await assert.rejects(r.done, (e: Error & { code?: string }) => e.code === 'ERR_RELAY_ABORTED');
    assert.equal(r.bytes(), PIECE_BYTES);
  });

  it('keeps one feed per block, remembers a lost one until it is held', () => {
    const feeds = new RelayFeeds();
    const c = 'a'.repeat(64);
    assert.ok(feeds.open(c, 1, 10));
    assert.equal(feeds.open(c, 1, 10), undefined, 'a second copy does not feed');
    feeds.abort(c, 1, 'source gone');
    assert.equal(feeds.get(c, 1), undefined);
    assert.ok(feeds.isLost(c, 1));
    const whole: BlockBytes = Buffer.alloc(10);
    feeds.open(c, 1, 10);
    feeds.complete(c, 1, whole);
    assert.equal(feeds.isLost(c, 1), false);
    assert.equal(feeds.get(c, 1), undefined);
    feeds.open(c, 2, 10);
    feeds.drop(c, 'stopped');
    assert.equal(feeds.get(c, 2), undefined);
  });
});

describe('who holds views of a received block (its pooled buffers go back after the last)', () => {
  it('gives the bytes back at once when no relay reader took them, after the last reader is done otherwise, never when kept', async () => {
    const released: string[] = [];
    const none = new ReplyViews();
    none.add(undefined);
    none.whenDone(() => released.push('none'));
    assert.deepEqual(released, ['none']);

    const feed = new RelayFeed(8);
    const other = new RelayFeed(8);
    const a = feed.reader();
    const b = feed.reader();
    const c = other.reader();
    feed.push([Buffer.alloc(4)]);
    assert.equal((await a.pieces.next()).done, false);
    const views = new ReplyViews();
    views.add(feed);
    views.add(other);
    views.add(feed);
    feed.complete([Buffer.alloc(8)]);
    views.whenDone(() => released.push('relayed'));
    a.done();
    a.done(); // once only
    c.done();
    assert.deepEqual(released, ['none'], 'a reader of the feed is not done yet');
    b.done();
    assert.deepEqual(released, ['none', 'relayed']);

    const kept = new ReplyViews();
    kept.kept = true;
    kept.whenDone(() => released.push('kept'));
    assert.deepEqual(released, ['none', 'relayed']);
  });
});

describe('a stored block relayed on from the store', () => {
  /** The store's side: the block's bytes from `from`, in pieces whose `flushed` is recorded. */
  function storedRest(block: Buffer, size: number, log: string[]) {
    return (from: number) =>
      (async function* () {
        for (let at = from; at < block.length; at += size) {
          const n = at;
          yield { bytes: block.subarray(at, Math.min(block.length, at + size)), flushed: () => log.push(`flushed ${n}`) };
        }
      })();
  }

  it('a reader behind at verification gets the rest from the store, and lets go of the received bytes once its first stored piece is sent', async () => {
    const block = Buffer.from(Array.from({ length: 4 * PIECE_BYTES }, (_, i) => (i * 7) & 0xff));
    const feed = new RelayFeed(block.length);
    const log: string[] = [];
    const r = feed.reader();
    const views = new ReplyViews();
    views.add(feed);
    for (const p of slices([block], 0, 2 * PIECE_BYTES, PIECE_BYTES)) feed.push(p);
    const got: Buffer[] = [];
    const first = await r.pieces.next();
    got.push(joined(first.value as readonly Buffer[]));
    // Verified and stored while the reader has sent one piece of four.
    feed.complete([block], storedRest(block, PIECE_BYTES, log));
    views.whenDone(() => log.push('released'));
    const stored: { bytes: Buffer; flushed: () => void }[] = [];
    for (let p = await r.pieces.next(); !p.done; p = await r.pieces.next()) {
      assert.ok(!Array.isArray(p.value) && !Buffer.isBuffer(p.value), 'after verification, only stored pieces');
      const piece = p.value as { bytes: Buffer; flushed: () => void };
      stored.push(piece);
      got.push(piece.bytes);
    }
    assert.deepEqual(Buffer.concat(got), block, 'the reader got every byte once, in order');
    // The second piece had arrived but was not yet taken: it comes from the store too, with the two not yet received.
    assert.equal(stored.length, 3);
    assert.deepEqual(log, [], 'nothing sent yet: the received bytes are still referenced');
    stored[0]!.flushed();
    assert.deepEqual(log, [`flushed ${PIECE_BYTES}`, 'released'], 'the received buffers go back once the first stored piece is sent');
    for (const p of stored.slice(1)) p.flushed();
    r.done();
    assert.equal(log.filter((l) => l === 'released').length, 1, 'released once');
  });

  it('finishes from the received bytes when the store cannot read the block', async () => {
    const block = Buffer.alloc(3 * PIECE_BYTES, 9);
    for (const rest of [() => undefined, () => { throw new Error('evicted'); }]) {
      const feed = new RelayFeed(block.length);
      const r = reader(feed);
      feed.push([block.subarray(0, PIECE_BYTES)]);
      await tick();
      feed.complete([block], rest);
      await r.done;
      assert.deepEqual(r.all(), block);
    }
  });
});

describe('a block written as it arrives, relayed from memory and then from its temp file', () => {
  it('holds a share of each piece until it is written, lends readers their own, and reads written pieces from the file', async () => {
    const block = Buffer.from(Array.from({ length: 4 * PIECE_BYTES }, (_, i) => (i * 13) & 0xff));
    const feed = new RelayFeed(block.length);
    const leases = [0, 1, 2, 3].map((k) => {
      const lease = blockPool.take(PIECE_BYTES);
      block.copy(lease.bytes, 0, k * PIECE_BYTES, (k + 1) * PIECE_BYTES);
      return lease;
    });
    const reads: [number, number][] = [];
    const written = (from: number, to: number) =>
      (async function* () {
        reads.push([from, to]);
        yield { bytes: Buffer.from(block.subarray(from, to)), flushed: () => undefined };
      })();
    // The wire's share goes once the feed (and, in the node, the intake) took theirs.
    for (const l of leases.slice(0, 3)) {
      feed.push([l.bytes], [l]);
      l.release();
    }
    const early = feed.reader();
    const first = (await early.pieces.next()).value as { bytes: Buffer; flushed: () => void };
    assert.deepEqual(first.bytes, block.subarray(0, PIECE_BYTES), 'a received piece, lent to the reader');
    // Pieces 0 and 1 are written: the feed lets go of piece 0, which every reader took (the
    // early reader holds its own share until its socket sent it), and keeps piece 1, which the
    // early reader has not taken yet.
    feed.spill(2 * PIECE_BYTES, written);
    assert.equal(leases[0]!.released, false);
    first.flushed();
    assert.equal(leases[0]!.released, true);
    assert.equal(leases[1]!.released, false, 'written, but a reader has yet to take it');
    // The early reader goes away: piece 1 goes back too.
    early.done();
    assert.equal(leases[1]!.released, true, 'written and wanted by no reader: back to the pool');
    // A reader that comes now reads the written pieces from the file, the third from memory.
    const late = feed.reader();
    const got: Buffer[] = [];
    // The two written pieces in one read of the file, then the third from memory.
    for (let i = 0; i < 2; i++) {
      const p = (await late.pieces.next()).value as { bytes: Buffer; flushed: () => void };
      got.push(Buffer.from(p.bytes));
      p.flushed();
    }
    assert.deepEqual(reads, [[0, 2 * PIECE_BYTES]]);
    assert.deepEqual(Buffer.concat(got), block.subarray(0, 3 * PIECE_BYTES));
    // The last piece arrives; the block is stored: the feed's shares go back, readers finish from the store.
    feed.push([leases[3]!.bytes], [leases[3]!]);
    leases[3]!.release();
    feed.complete([], (from) =>
      (async function* () {
        yield { bytes: block.subarray(from), flushed: () => undefined };
      })(),
    );
    assert.ok(leases.every((l) => l.released), 'every buffer back once the feed ended and readers sent theirs');
    const rest = (await late.pieces.next()).value as { bytes: Buffer };
    assert.deepEqual(rest.bytes, block.subarray(3 * PIECE_BYTES));
  });

  it('serves a reader behind from the store when the temp file went because the block was committed meanwhile', async () => {
    // Seen in the distribute bench: a reader behind opened the temp file after the block's
    // rename, and the reply failed with ENOENT, so the requester fetched the block again.
    const block = Buffer.from(Array.from({ length: 4 * PIECE_BYTES }, (_, i) => (i * 7 + 3) & 0xff));
    for (const gone of [0, PIECE_BYTES]) {
      const feed = new RelayFeed(block.length);
      const leases = [0, 1, 2].map((k) => {
        const lease = blockPool.take(PIECE_BYTES);
        block.copy(lease.bytes, 0, k * PIECE_BYTES, (k + 1) * PIECE_BYTES);
        feed.push([lease.bytes], [lease]);
        lease.release();
        return lease;
      });
      // The file gives `gone` bytes, then is not there any more (a lazy second open).
      const written = (from: number, to: number) =>
        (async function* () {
          if (gone > 0) yield { bytes: Buffer.from(block.subarray(from, Math.min(to, from + gone))), flushed: () => undefined };
          throw Object.assign(new Error(`ENOENT: no such file or directory, open 'tmp'`), { code: 'ENOENT' });
        })();
      feed.spill(3 * PIECE_BYTES, written);
      const late = feed.reader();
      const got: Buffer[] = [];
      const done = (async () => {
        for await (const p of late.pieces) {
          const piece = p as { bytes: Buffer; flushed: () => void };
          got.push(Buffer.from(piece.bytes));
          piece.flushed();
        }
      })();
      await tick();
      assert.equal(byteLength(got), gone, 'what the file gave, then a wait for the stored block');
      feed.complete([], (from) =>
        (async function* () {
          yield { bytes: block.subarray(from), flushed: () => undefined };
        })(),
      );
      await done;
      late.done();
      assert.deepEqual(Buffer.concat(got), block, `every byte once, in order (file gave ${gone})`);
      assert.equal(feed.relayed, block.length, 'each byte counted once');
      assert.ok(leases.every((l) => l.released));
    }
  });

  it('still ends a reader with the failure when the temp file went because the copy failed', async () => {
    const feed = new RelayFeed(2 * PIECE_BYTES);
    feed.push([Buffer.alloc(PIECE_BYTES, 1)]);
    // A temp file that cannot be opened any more: the first read fails.
    const gone: AsyncIterable<{ bytes: Buffer; flushed: () => void }> = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })) }) };
    feed.spill(PIECE_BYTES, () => gone);
    const late = feed.reader();
    const failed = assert.rejects(async () => {
      for await (const _ of late.pieces) void _;
    }, /ERR_RELAY_ABORTED|relay of a block still arriving here stopped/);
    await tick();
    feed.abort('the block hashed wrong');
    await failed;
  });

  it('ends a reader of a stored block that the store can no longer read, rather than sending it short', async () => {
    const feed = new RelayFeed(2 * PIECE_BYTES);
    const r = reader(feed);
    feed.push([Buffer.alloc(PIECE_BYTES)]);
    await tick();
    feed.complete([], () => undefined);
    await assert.rejects(r.done, (e: Error & { code?: string }) => e.code === 'ERR_RELAY_ABORTED');
  });
});

describe('scheduler and a lost relay', () => {
  it('a relay that lost a block is not asked for it again until it says have, and is not choked', () => {
    const MiB = 2 ** 20;
    const IDLE = { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 };
    const s = new SwarmScheduler({ lengths: [MiB, MiB], have: new Bitfield(2), wanted: () => true, maxInFlightPerPeer: 1, maxInFlight: 1, random: () => 0.5 });
    s.handle({ type: 'peer-joined', peer: 'relay', have: new Bitfield(2), load: IDLE, rttMs: 1, isSeed: false }, 0);
    // Told block 0 is arriving there: asked at once.
    const asked = s.handle({ type: 'peer-has', peer: 'relay', index: 0 }, 0);
    assert.deepEqual(asked, [{ type: 'request', peer: 'relay', index: 0 }]);
    // Its copy failed: not asked again, and the relay is not held back for its other blocks.
    assert.deepEqual(s.handle({ type: 'failure', peer: 'relay', index: 0, kind: 'lost' }, 10), []);
    assert.deepEqual(s.handle({ type: 'peer-has', peer: 'relay', index: 1 }, 20), [{ type: 'request', peer: 'relay', index: 1 }]);
    s.handle({ type: 'block', peer: 'relay', index: 1, valid: true }, 30);
    // Once it holds block 0 it says so again, and is asked.
    assert.deepEqual(s.handle({ type: 'peer-has', peer: 'relay', index: 0 }, 40), [{ type: 'request', peer: 'relay', index: 0 }]);
  });
});
