import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTreeScenario, type RoutingFigures } from '../../../src/sim/tree-scenario.js';

interface Figures {
  live: number;
  floodReached: number;
  originEchoes: number;
  floodMessages: number;
  killed: number;
  liveAfterKill: number;
  floodReachedAfterKill: number;
  repairSeconds: number | null;
  routing: Record<string, RoutingFigures>;
}

describe('canopy sim tree scenario', () => {
  it('reports a complete flood, exact routing and a full repair', () => {
    const r = runTreeScenario({ nodes: 600, seed: 4 }) as unknown as Figures;
    assert.equal(r.floodReached, r.live);
    assert.equal(r.originEchoes, 0);
    assert.equal(r.floodMessages, r.live - 1, 'a flood over a tree crosses each edge once');
    for (const x of Object.values(r.routing)) {
      assert.equal(x.delivered, x.matching, x.criteria);
      assert.equal(x.deliveredToUnqualified, 0);
      assert.equal(x.counted, x.matching);
      assert.ok(x.visited >= x.delivered);
    }
    assert.ok(r.killed > 0);
    assert.equal(r.floodReachedAfterKill, r.liveAfterKill);
    assert.notEqual(r.repairSeconds, null);
  });
});
