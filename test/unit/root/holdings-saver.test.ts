/**
 * The holdings a leader saves for the next one (src/root/state/holdings-saver.ts): reports
 * coalesce into one batch per save (never a write per report), the batch carries each
 * node's latest report, a forgotten content's rows are deleted, a standby writes nothing,
 * and a new leader's registry restored from the rows shows them before anyone re-reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RootRegistry, type SavedHolding } from '../../../src/root/root-registry.js';
import { BATCH_ROWS, HoldingsSaver, startHoldings, type HoldingsSink } from '../../../src/root/state/holdings-saver.js';

class ArraySink implements HoldingsSink {
  calls: { rows: SavedHolding[]; forgotten: string[] }[] = [];
  table = new Map<string, SavedHolding>();
  putHoldings(rows: readonly SavedHolding[], forgotten: readonly string[]): void {
    this.calls.push({ rows: [...rows], forgotten: [...forgotten] });
    for (const [k, r] of this.table) if (forgotten.includes(r.contentId)) this.table.delete(k);
    for (const r of rows) this.table.set(`${r.contentId}/${r.nodeId}`, r);
  }
  loadHoldings(): Promise<SavedHolding[]> {
    return Promise.resolve([...this.table.values()]);
  }
}

const seed = (contentId: string, nodeId: string): SavedHolding => ({ contentId, nodeId, name: `n-${nodeId}`, attrs: { region: 'eu' }, haveBlocks: 0, haveBytes: 0, complete: false, fetchedBytes: 0, stuck: undefined, at: 1 });

describe('holdings saved for the next leader', () => {
  it('one batch per save with the latest reports, whatever the order of reports (property); a new leader restores them', () => {
    const report = fc.record({ c: fc.constantFrom('c1', 'c2'), n: fc.constantFrom('a', 'b', 'c'), blocks: fc.integer({ min: 0, max: 8 }) });
    fc.assert(
      fc.property(fc.array(report, { minLength: 1, maxLength: 60 }), (reports) => {
        const reg = new RootRegistry();
        reg.restore(['a', 'b', 'c'].map((n) => seed('c0', n)));
        const sink = new ArraySink();
        const saver = new HoldingsSaver(reg, sink, () => true);
        reports.forEach((r, i) => reg.report(r.n, r.c, r.blocks, r.blocks * 100, 8, { fetchedBytes: i }, 1000 + i));
        saver.save();
        assert.equal(sink.calls.length, 1, 'one write for all the reports');
        saver.save();
        assert.equal(sink.calls.length, 1, 'nothing new, nothing written');
        for (const r of reports) assert.deepEqual(sink.table.get(`${r.c}/${r.n}`), reg.saved(r.c, r.n));
        const next = new RootRegistry();
        next.restore([...sink.table.values()]);
        for (const r of reports) assert.equal(next.holding(r.c, r.n)?.haveBlocks, reg.holding(r.c, r.n)?.haveBlocks);
        assert.deepEqual(next.departed().map((d) => d.name).sort(), [...new Set(reports.map((r) => `n-${r.n}`))].sort());
      }),
      { numRuns: 50 },
    );
  });

  it('a standby writes nothing (its reports wait for it to lead), a forgotten content is deleted, large batches are split', () => {
    const reg = new RootRegistry();
    const nodes = Array.from({ length: BATCH_ROWS + 10 }, (_, i) => `n${i}`);
    reg.restore(nodes.map((n) => seed('c0', n)));
    const sink = new ArraySink();
    let leads = false;
    const saver = new HoldingsSaver(reg, sink, () => leads);
    for (const n of nodes) reg.report(n, 'c1', 8, 800, 8);
    saver.save();
    assert.equal(sink.calls.length, 0);
    leads = true;
    saver.save();
    assert.deepEqual(sink.calls.map((c) => c.rows.length), [BATCH_ROWS, 10]);
    reg.forget('c1');
    saver.save();
    assert.deepEqual(sink.calls.at(-1), { rows: [], forgotten: ['c1'] });
    assert.equal([...sink.table.values()].filter((r) => r.contentId === 'c1').length, 0);
  });

  it('a new leader restores the rows of live contents only, and deletes those of a content withdrawn before the old leader saved its deletion', async () => {
    const sink = new ArraySink();
    sink.putHoldings([{ ...seed('live', 'a'), complete: true, haveBlocks: 8 }, seed('gone', 'a')], []);
    const reg = new RootRegistry();
    const stop = await startHoldings(sink, reg, () => true, (id) => id === 'live');
    stop();
    assert.equal(reg.holding('live', 'a')?.complete, true);
    assert.equal(reg.holdingsOf('gone'), undefined);
    assert.deepEqual(sink.calls.at(-1), { rows: [], forgotten: ['gone'] });
    assert.deepEqual([...sink.table.keys()], ['live/a']);
  });
});
