import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatEta, RateTracker } from '../../../src/cli/rates.js';
import { formatLiveStatus, isSettled } from '../../../src/cli/commands/status.js';

describe('live rates', () => {
  it('derives a smoothed rate from successive byte counts', () => {
    const r = new RateTracker();
    assert.equal(r.update('a', 0, 1000), 0);
    assert.equal(r.update('a', 1000, 2000), 1000);
    assert.equal(r.update('a', 4000, 3000), 2000); // half of 3000 plus half of 1000
    assert.equal(r.update('a', 4000, 3000), 2000, 'the same instant changes nothing');
    assert.equal(r.update('b', 10, 3000), 0, 'keys are independent');
  });

  it('never reports a negative or non-finite rate', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }), (samples) => {
        const r = new RateTracker();
        for (const [bytes, at] of samples) {
          const v = r.update('k', bytes, at);
          assert.ok(Number.isFinite(v) && v >= 0);
        }
      }),
    );
  });

  it('formats estimates', () => {
    assert.equal(formatEta(0, 0), 'done');
    assert.equal(formatEta(10, 0), '—');
    assert.equal(formatEta(100, 10), '10s');
    assert.equal(formatEta(245, 1), '4m05s');
    assert.equal(formatEta(7380, 1), '2h03m');
  });

  it('draws a line per node and knows when a content is settled', () => {
    const s = { contentId: 'c'.repeat(64), name: 'x.bin', size: 100, blocks: 1, criteria: 'region=eu', nodes: [
      { nodeId: '1', name: 'eu', attrs: {}, qualified: true, haveBlocks: 0, haveBytes: 50, complete: false, url: '' },
      { nodeId: '2', name: 'us', attrs: {}, qualified: false, haveBlocks: 0, haveBytes: 0, complete: false, url: '' },
    ] };
    const lines = formatLiveStatus(s, new RateTracker(), 0);
    assert.match(lines[0]!, /0\/1 complete/);
    assert.match(lines[1]!, /eu .* 50%/);
    assert.match(lines[2]!, /^ {2}us +not qualified$/);
    assert.equal(isSettled(s), false);
    assert.equal(isSettled({ ...s, nodes: [{ ...s.nodes[0]!, complete: true }, s.nodes[1]!] }), true);
  });

  it('prints whole bytes per second on a pipe, and counts and draws an offline qualified node (issue 24)', () => {
    const rates = new RateTracker();
    const node = { nodeId: '1', name: 'eu', attrs: {}, qualified: true, haveBlocks: 0, haveBytes: 50, complete: false, url: '' };
    const convergence = { qualified: 3, complete: 0, partial: 1, none: 2, remainingBytes: 250, rateBps: 5.4e-7, etaSeconds: null, converged: false, stuck: [{ nodeId: '9', name: 'eu-gone', reason: 'offline' as const, detail: 'not in the control tree' }] };
    const s = { contentId: 'c'.repeat(64), name: 'x.bin', size: 100, blocks: 1, criteria: 'region=eu', convergence, nodes: [node, { ...node, nodeId: '2', name: 'eu2', haveBytes: 0 }] };
    formatLiveStatus(s, rates, 0);
    const lines = formatLiveStatus({ ...s, nodes: [{ ...node, haveBytes: 51 }, s.nodes[1]!] }, rates, 3_600_000_000);
    assert.doesNotMatch(lines.join('\n'), /e-\d/, 'no exponent notation');
    assert.match(lines[0]!, /0\/3 complete/);
    assert.ok(lines.some((l) => /eu-gone \(offline\)/.test(l)), lines.join('\n'));
    assert.equal(formatEta(100, 5e-7), '—');
  });
});
