/**
 * Busy holders: the upload limiter answers ERR_BUSY once its slots are taken and two
 * requests wait, and the scheduler then asks other holders, and the busy one again after
 * about a block's time, without counting it as a fault.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { SwarmScheduler, type SwarmAction } from '../../../src/swarm/scheduler.js';
import { UploadLimiter } from '../../../src/swarm/upload-limiter.js';

const MiB = 2 ** 20;
const IDLE = { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 };
const requests = (actions: SwarmAction[]) => actions.filter((a) => a.type === 'request').map((a) => `${(a as { peer: string }).peer}:${(a as { index: number }).index}`);

describe('busy holders', () => {
  it('the upload limiter answers busy past its slots and two waiting requests, and serves again once a slot frees', async () => {
    const limiter = new UploadLimiter(0, 1, 2);
    const release = await limiter.acquire(MiB);
    const waiting = [limiter.acquire(MiB), limiter.acquire(MiB)];
    await assert.rejects(limiter.acquire(MiB), (err) => isCanopyError(err, 'ERR_BUSY'));
    release();
    (await waiting[0]!)();
    (await waiting[1]!)();
    (await limiter.acquire(MiB))();
  });

  it('the scheduler asks another holder while one is busy, and the busy one again after a block time', () => {
    const s = new SwarmScheduler({ lengths: Array.from({ length: 8 }, () => MiB), have: new Bitfield(8), wanted: () => true, maxInFlightPerPeer: 1, maxInFlight: 1, random: () => 0.5 });
    // Every input returns actions: the first holder to join is asked at once.
    const first = s.handle({ type: 'peer-joined', peer: 'a', have: Bitfield.full(8), load: IDLE, rttMs: 1, isSeed: false }, 0);
    // b joins once a's round trip (1 ms) is over: before it, one request more may go (scheduler.ts, in transit).
    assert.deepEqual(requests(s.handle({ type: 'peer-joined', peer: 'b', have: Bitfield.full(8), load: IDLE, rttMs: 5, isSeed: false }, 2)), [], 'the pipeline (1) is full');
    assert.equal(requests(first).length, 1);
    assert.ok(requests(first)[0]!.startsWith('a:'), 'the nearer holder is asked first');
    const index = Number(requests(first)[0]!.split(':')[1]);
    const next = s.handle({ type: 'failure', peer: 'a', index, kind: 'busy' }, 10);
    assert.deepEqual(requests(next), [`b:${index}`], 'the same block is asked of the other holder at once');
    s.handle({ type: 'block', peer: 'b', index, valid: true }, 100);
    // a is still held back (one block at the default 12.5 MB/s is ~84 ms from 10 ms): b again.
    assert.ok(requests(s.schedule(50)).every((r) => r.startsWith('b:')));
  });
});
