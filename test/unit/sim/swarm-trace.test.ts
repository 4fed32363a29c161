/**
 * The simulator's trace (where the time over the bound goes): its figures are the links'
 * actual use, so they add up to the bytes sent, and a link that cannot be busier reads 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSwarmScenario } from '../../../src/sim/swarm-scenario.js';
import type { TraceRow } from '../../../src/sim/swarm-trace.js';

const MiB = 2 ** 20;

interface Traced {
  T: number;
  completed: number;
  originEgressRatio: number;
  trace: TraceRow[];
}

describe('swarm simulator trace', () => {
  it('a lone downloader: one row per second, its download link and the origin fully used every whole second', () => {
    const rate = 4 * MiB;
    const r = runSwarmScenario({ nodes: 1, size: 16 * MiB, blockSize: MiB, rate, placement: 'lan', trace: true }) as unknown as Traced;
    assert.equal(r.trace.length, Math.ceil(r.T));
    for (const row of r.trace.slice(0, -1)) {
      assert.ok(Math.abs(row.origin - 1) < 1e-9 && Math.abs(row.download - 1) < 1e-9, `second ${row.second}: origin ${row.origin}, download ${row.download}`);
      assert.equal(row.peersUp, 0);
      assert.equal(row.complete, 0);
    }
    assert.equal(r.trace.at(-1)!.complete, 1);
  });

  it('a swarm of 12: every share within 0..1, and the origin use over time adds up to what it sent', () => {
    const rate = 4 * MiB;
    const size = 32 * MiB;
    const r = runSwarmScenario({ nodes: 12, size, blockSize: MiB, rate, placement: 'lan', trace: true }) as unknown as Traced;
    assert.equal(r.completed, 12);
    assert.equal(r.trace.length, Math.ceil(r.T));
    for (const row of r.trace) for (const key of ['origin', 'peersUp', 'download'] as const) assert.ok(row[key] >= 0 && row[key] <= 1 + 1e-9, `second ${row.second}: ${key} ${row[key]}`);
    // Whole seconds only: the last row is part of a second.
    const sent = r.trace.slice(0, -1).reduce((sum, row) => sum + row.origin * rate, 0);
    assert.ok(Math.abs(sent - r.originEgressRatio * size) < 0.1 * size, `trace says the origin sent ${sent} bytes, it sent ${r.originEgressRatio * size}`);
    assert.equal(r.trace.at(-1)!.complete, 12);
  });
});
