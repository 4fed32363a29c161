/** The parts TreeNode hands each tick to: the subtree rollup, what goes up and down, failure detection. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttributeDictionary } from '../../../src/tree/attribute-dictionary.js';
import { fromBits } from '../../../src/tree/bitmap.js';
import { FailureWatch } from '../../../src/tree/failure-watch.js';
import { Heartbeats } from '../../../src/tree/heartbeats.js';
import { ownRollup } from '../../../src/tree/rollup.js';
import { SubtreeRollup } from '../../../src/tree/subtree-rollup.js';
import type { Child } from '../../../src/tree/tree-child.js';
import { DEFAULT_TREE_OPTIONS as O } from '../../../src/tree/tree-events.js';
import type { NodeRef, TreeMessage } from '../../../src/tree/tree-messages.js';

const ref = (id: string): NodeRef => ({ id, addr: `${id}:1` });

describe('tree tick parts', () => {
  it('SubtreeRollup bumps its version only when the combined rollup changes', () => {
    const r = new SubtreeRollup(fromBits([1]), 'self');
    const child = ownRollup(fromBits([2]), 'kid');
    r.recompute(fromBits([1]), [child]);
    assert.equal(r.version, 1);
    r.recompute(fromBits([1]), [ownRollup(fromBits([2]), 'kid')]);
    assert.equal(r.version, 1, 'the same rollup again is no change');
    r.recompute(fromBits([1]), []);
    assert.equal(r.version, 2);
  });

  it('Heartbeats sends up every heartbeat, or after the batch delay when the rollup changed', () => {
    const sent: [string, TreeMessage][] = [];
    const beats = new Heartbeats(O, (to, msg) => sent.push([to.id, msg]));
    const rollup = new SubtreeRollup(fromBits([1]), 'self');
    beats.adopted(0, rollup.version);
    beats.up(100, ref('p'), rollup, 0);
    assert.equal(sent.length, 0, 'nothing changed, heartbeat not due');
    rollup.recompute(fromBits([1, 3]), []);
    beats.up(100, ref('p'), rollup, 0);
    assert.equal(sent.length, 0, 'changed, but within the batch delay');
    beats.up(O.rollupBatchMs, ref('p'), rollup, 0);
    assert.deepEqual(sent.map(([to, m]) => [to, m.k]), [['p', 'up']]);
    beats.up(O.rollupBatchMs + O.heartbeatMs, ref('p'), rollup, 0);
    assert.equal(sent.length, 2, 'a heartbeat although nothing changed');
  });

  it('Heartbeats sends down at once after a path change, one shared message for children up to date', () => {
    const sent: [string, TreeMessage][] = [];
    const beats = new Heartbeats(O, (to, msg) => sent.push([to.id, msg]));
    const dict = new AttributeDictionary();
    dict.register({ region: 'eu' });
    const kids: Child[] = ['a', 'b'].map((id) => ({ ref: ref(id), rollup: ownRollup(fromBits([]), id), live: new FailureWatch(O).liveness(0), dictVersion: dict.version }));
    beats.down(0, [ref('root')], ref('self'), kids, dict);
    assert.equal(sent.length, 2);
    assert.equal(sent[0]![1], sent[1]![1], 'children at the same dictionary version share one message');
    beats.down(10, [ref('root')], ref('self'), kids, dict);
    assert.equal(sent.length, 2, 'not due');
    beats.pathChanged();
    beats.down(20, [ref('other')], ref('self'), kids, dict);
    assert.equal(sent.length, 4);
    assert.deepEqual((sent[3]![1] as Extract<TreeMessage, { k: 'down' }>).path.map((n) => n.id), ['other', 'self']);
  });

  it('FailureWatch checks children at most every half heartbeat and credits our own stalls', () => {
    const watch = new FailureWatch(O);
    const kid: Child = { ref: ref('k'), rollup: ownRollup(fromBits([]), 'k'), live: watch.liveness(0), dictVersion: 0 };
    watch.creditStall(0, null, [kid]);
    assert.deepEqual(watch.deadChildren(O.deadAfterMs + 1, [kid]).map((c) => c.ref.id), ['k']);
    assert.deepEqual(watch.deadChildren(O.deadAfterMs + 2, [kid]), [], 'checked less than half a heartbeat ago');
    const stalled = new FailureWatch(O);
    const other: Child = { ...kid, live: stalled.liveness(0) };
    stalled.creditStall(0, null, [other]);
    // Our loop stood still for 10 s: that is not the child's silence.
    stalled.creditStall(10_000, null, [other]);
    assert.deepEqual(stalled.deadChildren(10_000, [other]), []);
  });
});
