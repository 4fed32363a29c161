/**
 * The origin's first copies go to downloaders that pass blocks on fast (issue 17 session 9,
 * src/swarm/first-copy.ts): the origin declines a block's first copy to a slow drain once,
 * and the downloader takes that block from a peer, asking the origin again only when no
 * other holder appears (or a client waits for it). Both sides are pure; a clock is given.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { DECLINE_RETRY_MS, FIRST_COPY_MIN_SHARE, FirstCopyRule } from '../../../src/swarm/first-copy.js';
import type { PeerLoad } from '../../../src/swarm/peer-state.js';
import { SwarmScheduler, type SwarmAction } from '../../../src/swarm/scheduler.js';
import { UploadLimiter } from '../../../src/swarm/upload-limiter.js';

const MiB = 2 ** 20;
const IDLE: PeerLoad = { uploads: 0, queuedBytes: 0, rate: 0, cap: 0 };
const asked = (actions: SwarmAction[], peer: string) => actions.filter((a) => a.type === 'request' && a.peer === peer).map((a) => (a as { index: number }).index);

describe('first copies from the origin', () => {
  it('declines a first copy to a slow drain once per downloader and block, and forgets after its memory', () => {
    const rule = new FirstCopyRule();
    assert.equal(rule.declines('slow', 'c/1', true, 0.25, 0), true);
    assert.equal(rule.declines('slow', 'c/1', true, 0.25, 10), false, 'asked again: the origin sends it');
    assert.equal(rule.declines('slow', 'c/2', false, 0.25, 10), false, 'not a first copy: it is sent');
    assert.equal(rule.declines('fast', 'c/3', true, 1, 10), false, 'a fast (or unmeasured: share 1) drain gets first copies');
    assert.equal(rule.declines(undefined, 'c/3', true, 0.1, 10), false, 'an unknown downloader is not judged');
    assert.equal(rule.declines('slow', 'c/3', true, 0.25, 10), true);
    assert.equal(rule.declines('slow', 'c/1', true, 0.25, 3 * DECLINE_RETRY_MS), true, 'long forgotten: declined again');
  });

  it('the limiter judges a downloader by its measured drain pace against the typical one', async () => {
    let now = 0;
    const limiter = new UploadLimiter(0, 4, 2, () => now, FIRST_COPY_MIN_SHARE);
    assert.equal(limiter.declinesFirstCopy('slow', 'c/0', true), false, 'nothing measured yet');
    // 'fast' and 'fast2' drain 4 MiB in 0.4 s, 'slow' in 1.6 s (a quarter of their pace), and
    // 'solo' in 0.1 s (it had an idle link to itself): the typical pace is the fast ones'.
    for (const [peer, ms] of [['fast', 400], ['fast2', 400], ['slow', 1_600], ['solo', 100]] as const) {
      const release = await limiter.acquire(4 * MiB, undefined, peer);
      now += ms;
      release();
    }
    assert.equal(limiter.declinesFirstCopy('fast', 'c/1', true), false, 'a quarter of the best pace, but typical');
    assert.equal(limiter.declinesFirstCopy('slow', 'c/1', false), false, 'a copy already sent is sent again');
    assert.equal(limiter.declinesFirstCopy('slow', 'c/1', true), true);
    assert.equal(limiter.declinesFirstCopy('slow', 'c/1', true), false, 'once');
    // A node's limiter (the default threshold, 0) never declines: the rule is off in nodes (upload-limiter.ts).
    const node = new UploadLimiter(0, 4, 2, () => now);
    for (const [peer, ms] of [['fast', 400], ['fast2', 400], ['slow', 1_600]] as const) {
      const release = await node.acquire(4 * MiB, undefined, peer);
      now += ms;
      release();
    }
    assert.equal(node.declinesFirstCopy('slow', 'c/2', true), false);
  });

  it('a declined downloader takes the block from a peer, asks the origin again only if none has it, and at once for a waiting client', () => {
    const s = downloader();
    const [declined] = asked(s.schedule(0), 'origin');
    const [b] = asked(s.handle({ type: 'failure', peer: 'origin', index: declined!, kind: 'declined' }, 10), 'origin');
    assert.notEqual(b, declined, 'another block is asked of the origin instead');
    const [c] = asked(s.handle({ type: 'block', peer: 'origin', index: b!, valid: true }, 500), 'origin');
    assert.ok(c !== undefined && c !== declined);
    assert.deepEqual(s.handle({ type: 'block', peer: 'origin', index: c, valid: true }, 900), [], 'the declined block waits for another holder');
    assert.deepEqual(asked(s.handle({ type: 'peer-has', peer: 'peer', index: declined! }, 1_000), 'peer'), [declined]);
    // That holder loses it (a relay that failed): past the retry, and only then, the origin is asked again.
    s.handle({ type: 'failure', peer: 'peer', index: declined!, kind: 'lost' }, 1_100);
    assert.deepEqual(s.handle({ type: 'tick' }, DECLINE_RETRY_MS / 2), []);
    assert.deepEqual(asked(s.handle({ type: 'tick' }, DECLINE_RETRY_MS + 1_100), 'origin'), [declined]);
    // A client waiting for a declined block asks the origin again at once (which then sends it).
    const u = downloader();
    const [d] = asked(u.schedule(0), 'origin');
    u.handle({ type: 'failure', peer: 'origin', index: d!, kind: 'declined' }, 10);
    u.handle({ type: 'block', peer: 'origin', index: [0, 1, 2].find((i) => i !== d)!, valid: true }, 20);
    assert.ok(asked(u.handle({ type: 'urgent', index: d!, deadline: 5_000 }, 30), 'origin').includes(d!));
  });
});

/** Three blocks wanted, one request at a time; the origin holds all, a peer none yet. */
function downloader(): SwarmScheduler {
  const s = new SwarmScheduler({ lengths: Array.from({ length: 4 }, () => 4 * MiB), have: new Bitfield(4), wanted: (i) => i < 3, maxInFlight: 1, maxInFlightPerPeer: 1 });
  s.addPeer('origin', Bitfield.full(4), IDLE, 2, true);
  s.addPeer('peer', new Bitfield(4), IDLE, 2, false);
  return s;
}
