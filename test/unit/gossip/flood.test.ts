import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Flooder } from '../../../src/gossip/flood.js';
import type { NodeRef, TreeMessage } from '../../../src/tree/tree-messages.js';

const ref = (id: string): NodeRef => ({ id, addr: id });

function flooder(self: string, neighbours: string[]) {
  const sent: { to: string; msg: TreeMessage }[] = [];
  const delivered: string[] = [];
  const f = new Flooder(
    {
      selfId: self,
      neighbours: () => neighbours.map(ref),
      send: (to, msg) => sent.push({ to: to.id, msg }),
      sendReliably: (to, _id, msg) => sent.push({ to: to.id, msg }),
      deliver: (id) => delivered.push(id),
    },
    { seenLimit: 100, recentLimit: 10 },
  );
  return { f, sent, delivered };
}

describe('flooding', () => {
  it('forwards to every neighbour but the sender and the origin, once', () => {
    const { f, sent, delivered } = flooder('me', ['parent', 'origin', 'c1', 'c2']);
    f.onFlood(ref('parent'), { k: 'flood', id: 'a', origin: 'origin', payload: {} }, 0);
    assert.deepEqual(delivered, ['a']);
    assert.deepEqual(sent.filter((s) => s.msg.k === 'flood').map((s) => s.to).sort(), ['c1', 'c2']);
    assert.deepEqual(sent.filter((s) => s.msg.k === 'ack').map((s) => s.to), ['parent']);
    sent.length = 0;
    f.onFlood(ref('c1'), { k: 'flood', id: 'a', origin: 'origin', payload: {} }, 0);
    assert.deepEqual(sent.map((s) => s.msg.k), ['ack'], 'a duplicate is acknowledged and dropped');
    assert.equal(f.stats.duplicates, 1);
  });

  it('counts its own flood coming back as an echo', () => {
    const { f } = flooder('me', ['x']);
    f.start('b', {}, 0);
    f.onFlood(ref('x'), { k: 'flood', id: 'b', origin: 'me', payload: {} }, 0);
    assert.equal(f.stats.originEchoes, 1);
  });

  it('sends a new neighbour the recent floods it lacks, but never its own back', () => {
    const { f, sent } = flooder('me', []);
    f.start('x1', {}, 0);
    f.onFlood(ref('p'), { k: 'flood', id: 'x2', origin: 'newbie', payload: {} }, 0);
    f.onFlood(ref('p'), { k: 'flood', id: 'x3', origin: 'other', payload: {} }, 0);
    sent.length = 0;
    f.sync(ref('newbie'), ['x1'], 0);
    assert.deepEqual(sent.map((s) => (s.msg as { id: string }).id), ['x3']);
  });
});
