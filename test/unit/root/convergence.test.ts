import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { computeConvergence, type NodeView } from '../../../src/root/convergence.js';
import type { HoldingReport } from '../../../src/root/root-registry.js';

const NOW = 1_000_000;
const report = (haveBytes: number, size: number, extra: Partial<HoldingReport> = {}): HoldingReport => ({ haveBlocks: 0, haveBytes, complete: haveBytes === size, at: NOW, fetchedBytes: haveBytes, rate: 0, stuck: undefined, stuckDetail: undefined, ...extra });
const node = (name: string, r: HoldingReport | undefined, more: Partial<NodeView> = {}): NodeView => ({ nodeId: name, name, attrs: {}, qualified: true, online: true, report: r, ...more });

describe('convergence', () => {
  it('counts all/part/none among qualified nodes and names the stuck ones with why', () => {
    const c = computeConvergence(100, [
      node('a', report(100, 100)),
      node('b', report(40, 100, { rate: 20 })),
      node('c', report(0, 100, { stuck: 'refused', stuckDetail: 'holder x: not authorised' })),
      node('d', undefined, { online: false }),
      node('e', report(10, 100, { at: NOW - 60_000 })),
      node('f', report(0, 100), { qualified: false }),
    ], NOW);
    assert.deepEqual([c.qualified, c.complete, c.partial, c.none], [5, 1, 2, 2]);
    assert.deepEqual(c.stuck.map((s) => [s.name, s.reason]), [['c', 'refused'], ['d', 'offline'], ['e', 'stalled']]);
    assert.equal(c.remainingBytes, 60 + 100 + 90);
    assert.equal(c.etaSeconds, Math.ceil(250 / 20));
    assert.equal(c.converged, false);
  });

  it('names a node in the tree that owes a report and sent none for 30 s as stalled, and no other', () => {
    const c = computeConvergence(100, [
      node('silent', undefined, { reportDueSince: NOW - 31_000 }),
      node('fresh', undefined, { reportDueSince: NOW - 5_000 }),
      node('on-demand', undefined, { reportDueSince: undefined }),
      node('hung', undefined, { online: false, reportDueSince: NOW - 60_000 }),
      node('moving', report(10, 100, { at: NOW - 1_000 }), { reportDueSince: NOW - 60_000 }),
    ], NOW);
    assert.deepEqual(c.stuck.map((s) => [s.name, s.reason]), [['silent', 'stalled'], ['hung', 'offline']]);
    assert.match(c.stuck[0]!.detail, /in the control tree but no progress report for 31 s/);
  });

  it('is converged with ETA 0 exactly when every qualified node is complete', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 100 })), { maxLength: 10 }), (specs) => {
        const c = computeConvergence(100, specs.map(([q, have], i) => node(`n${i}`, report(have, 100), { qualified: q })), NOW);
        const qualified = specs.filter(([q]) => q);
        assert.equal(c.converged, qualified.length > 0 && qualified.every(([, h]) => h === 100));
        assert.equal(c.complete + c.partial + c.none, c.qualified);
        if (c.remainingBytes === 0) assert.equal(c.etaSeconds, 0);
      }),
    );
  });
});
