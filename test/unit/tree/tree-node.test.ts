/**
 * The tree core over the simulator's in-memory network (a fake network is fine here: the
 * core is pure). Scenarios: joining, fan-out, rollups, routing to exactly the qualified
 * nodes, counts, attribute changes, and repair while a flood is under way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matches, parseCriteria } from '../../../src/core/criteria.js';
import { SimTree, type SimNode } from '../../../src/sim/sim-tree.js';
import { equals, or, EMPTY } from '../../../src/tree/bitmap.js';
import { idBit, mayHold } from '../../../src/tree/rollup.js';

function grow(nodes: number, seed: number, fanout = 16): SimTree {
  const sim = new SimTree({ nodes, seed, loss: 0, tickMs: 100, probeTimeoutMs: 500, tree: { fanout } });
  for (const n of sim.nodes) sim.start(n, n.index === 0 ? 0 : 1 + sim.rand() * 500);
  sim.q.run(20_000, () => sim.nodes.every((n) => n.placedAt !== undefined));
  sim.q.run(sim.q.now + 3000);
  return sim;
}

function assertWellFormed(sim: SimTree, fanout: number): void {
  const live = sim.nodes.filter((n) => n.alive);
  for (const n of live) {
    assert.ok(n.core.children.length <= fanout, `${n.ref.id} has ${n.core.children.length} children`);
    if (n === sim.root) continue;
    const seen = new Set<string>();
    let at: SimNode = n;
    while (at !== sim.root) {
      assert.ok(!seen.has(at.ref.id), `cycle through ${at.ref.id}`);
      seen.add(at.ref.id);
      const parent = at.core.parentRef;
      assert.ok(parent, `${at.ref.id} is detached`);
      const p = sim.node(parent.id);
      assert.ok(p.alive && p.core.hasChild(at.ref.id), `${at.ref.id}'s parent does not list it`);
      at = p;
    }
  }
}

describe('control tree core', () => {
  it('places every node under a parent with room, and the root rollup covers everyone', () => {
    const sim = grow(300, 7);
    assertWellFormed(sim, 16);
    const root = sim.root.core;
    assert.equal(root.subtree.count, 300);
    const all = sim.nodes.reduce((acc, n) => or(acc, root.dict.bitmapOf(n.place.attrs)), EMPTY);
    assert.ok(equals(root.subtree.or, all));
  });

  it('respects a small fan-out', () => {
    const sim = grow(60, 3, 2);
    assertWellFormed(sim, 2);
    assert.ok(Math.max(...sim.nodes.map((n) => n.core.depth)) >= 5);
  });

  it('delivers targeted messages to exactly the qualified nodes, and counts them', () => {
    const sim = grow(400, 11);
    const got = new Map<string, Set<string>>();
    let counted = -1;
    sim.hooks.deliver = (n, a) => got.set(a.id, (got.get(a.id) ?? new Set()).add(n.ref.id));
    sim.hooks.counted = (_n, a) => (counted = a.matching);
    const sample = sim.nodes[42]!.place.attrs;
    const exprs = ['*', `region=${sample.region}`, `metro=${sample.metro} & tier=edge`, `region=${sample.region} & !gpu`, `!region=${sample.region}`, 'node=n17 | node=n301', 'nosuch=attr', `dc=${sample.dc} | gpu`];
    fc.assert(
      fc.property(fc.constantFrom(...exprs), fc.nat(399), (text, from) => {
        const id = `r${got.size}-${text}`;
        sim.handle(sim.nodes[from]!, { type: 'send-qualified', now: sim.q.now, id, criteria: text, payload: {} });
        sim.handle(sim.root, { type: 'count', now: sim.q.now, qid: id, criteria: text });
        sim.q.run(sim.q.now + 2000);
        const c = parseCriteria(text);
        const expected = sim.nodes.filter((n) => matches(c, n.place.attrs, n.ref.id)).map((n) => n.ref.id).sort();
        assert.deepEqual([...(got.get(id) ?? [])].sort(), expected, text);
        assert.equal(counted, expected.length, text);
      }),
      { numRuns: 16 },
    );
  });

  it('learns a new attribute: the dictionary grows, rollups follow, routing finds the node', () => {
    const sim = grow(120, 5);
    const target = sim.nodes[77]!;
    sim.handle(target, { type: 'set-attrs', now: sim.q.now, attrs: { ...target.place.attrs, canary: 'yes' } });
    sim.q.run(sim.q.now + 3000);
    assert.ok(sim.root.core.dict.bitOf('canary=yes') !== undefined);
    let counted = -1;
    sim.hooks.counted = (_n, a) => (counted = a.matching);
    sim.handle(sim.root, { type: 'count', now: sim.q.now, qid: 'q', criteria: 'canary=yes' });
    sim.q.run(sim.q.now + 2000);
    assert.equal(counted, 1);
  });

  it('floods to every live node, never back to the origin, even when interior nodes die mid-flood', () => {
    const sim = grow(500, 13);
    const origin = sim.nodes[250]!;
    sim.handle(origin, { type: 'flood', now: sim.q.now, id: 'f', payload: {} });
    sim.q.run(sim.q.now + 15);
    const interior = sim.nodes.filter((n) => n !== sim.root && n !== origin && n.core.children.length > 0);
    for (const v of interior.slice(0, 10)) sim.kill(v);
    sim.q.run(sim.q.now + 20_000);
    const live = sim.nodes.filter((n) => n.alive);
    assert.deepEqual(live.filter((n) => !n.core.flood.has('f')).map((n) => n.ref.id), []);
    assert.equal(origin.core.flood.stats.originEchoes, 0);
    assertWellFormed(sim, 16);
    assert.equal(sim.root.core.subtree.count, live.length);
  });

  it('knows a child it dropped for silence is gone even when another member shares its id bit, until it speaks again', () => {
    // 61 children of the root over 256 id bits: some share a bit (the simulator's ids are fixed: n60 and n15 do).
    const sim = grow(62, 5, 64);
    const byBit = new Map<number, SimNode>();
    let pair: [SimNode, SimNode] | undefined;
    for (const n of sim.nodes.slice(1)) {
      const other = byBit.get(idBit(n.ref.id));
      if (other && !pair) pair = [n, other];
      byBit.set(idBit(n.ref.id), n);
    }
    assert.ok(pair, 'two children share an id bit');
    const [hung, twin] = pair;
    const root = sim.root.core;
    assert.ok(root.hasChild(hung.ref.id) && root.hasChild(twin.ref.id));
    sim.kill(hung); // SIGSTOP: no messages, no ticks
    sim.q.run(sim.q.now + 30_000);
    assert.equal(root.hasChild(hung.ref.id), false, 'the root dropped the silent child');
    assert.equal(mayHold(root.subtree, hung.ref.id), true, "the id filter still says maybe: its twin's bit");
    assert.equal(root.inSubtree(hung.ref.id), false);
    assert.equal(root.inSubtree(twin.ref.id), true);
    hung.alive = true; // SIGCONT: it speaks to the root again and is placed again
    sim.q.run(sim.q.now + 30_000);
    assert.equal(root.inSubtree(hung.ref.id), true);
    assert.ok(hung.core.parentRef, 'placed again');
  });

  it('keeps working when messages are lost', () => {
    const sim = new SimTree({ nodes: 200, seed: 2, loss: 0.02, tickMs: 100, probeTimeoutMs: 500, tree: {} });
    for (const n of sim.nodes) sim.start(n, n.index === 0 ? 0 : 1 + sim.rand() * 500);
    sim.q.run(60_000, () => sim.nodes.every((n) => n.placedAt !== undefined));
    sim.q.run(sim.q.now + 5000);
    sim.handle(sim.nodes[5]!, { type: 'flood', now: sim.q.now, id: 'lossy', payload: {} });
    sim.q.run(sim.q.now + 10_000);
    assert.deepEqual(sim.nodes.filter((n) => !n.core.flood.has('lossy')).map((n) => n.ref.id), []);
  });
});
