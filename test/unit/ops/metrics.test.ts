import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Metrics, renderPrometheus } from '../../../src/ops/metrics.js';
import { nodeGauges } from '../../../src/ops/node-metrics.js';

/** Reads one sample line back the way Prometheus does (label values unescaped). */
function parseLine(line: string): { name: string; labels: Record<string, string>; value: number } {
  const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
  assert.ok(m, `not a sample line: ${line}`);
  const labels: Record<string, string> = {};
  const re = /([a-z_]+)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
  for (let lm; (lm = re.exec(m[2] ?? '')); ) labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return { name: m[1]!, labels, value: Number(m[3]) };
}

describe('metrics', () => {
  it('counts by label set and renders HELP, TYPE and samples', () => {
    const m = new Metrics();
    m.inc('canopy_bytes_in_total', { class: 'peer' }, 100);
    m.inc('canopy_bytes_in_total', { class: 'peer' }, 50);
    m.inc('canopy_bytes_in_total', { class: 'publish' }, 7);
    assert.equal(m.get('canopy_bytes_in_total', { class: 'peer' }), 150);
    const text = renderPrometheus(m.families());
    assert.match(text, /^# HELP canopy_bytes_in_total .+\n# TYPE canopy_bytes_in_total counter\ncanopy_bytes_in_total\{class="peer"\} 150\ncanopy_bytes_in_total\{class="publish"\} 7\n/m);
  });

  it('escapes any label value so it reads back unchanged', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.nat(), (value, n) => {
        const text = renderPrometheus([{ name: 'x_total', help: 'h', type: 'counter', samples: [{ labels: { v: value }, value: n }] }]);
        const line = text.split('\n')[2]!;
        assert.deepEqual(parseLine(line), { name: 'x_total', labels: { v: value }, value: n });
      }),
    );
  });

  it('reports store usage per volume and distribution progress on the root', () => {
    const fams = nodeGauges({
      store: () => ({ volumes: [{ id: 'v0', path: '/a', bytes: 10, blocks: 1 }, { id: 'v1', path: '/b', bytes: 30, blocks: 3 }], bytes: 40, blocks: 4 }),
      holdings: () => [],
      treeSize: () => 4,
      spread: () => [{ contentId: 'c', name: 'n', size: 100, nodes: [{ qualified: true, haveBytes: 100, complete: true }, { qualified: true, haveBytes: 50, complete: false }, { qualified: false, haveBytes: 0, complete: false }] }],
    });
    const text = renderPrometheus(fams);
    assert.match(text, /canopy_store_bytes\{volume="v1",path="\/b"\} 30/);
    assert.match(text, /canopy_tree_nodes 4/);
    assert.match(text, /canopy_distribution_progress_ratio\{content="c",name="n"\} 0.75/);
    assert.match(text, /canopy_distribution_complete_nodes\{content="c",name="n"\} 1/);
  });

  it('reports stuck nodes, withdrawn bytes still held and certificate ends', async () => {
    const { NodeSecurity } = await import('../../../src/security/node-security.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'canopy-gauges-'));
    try {
      const sec = await NodeSecurity.prepare({ dataDir: dir, isRoot: true, rootAttrs: {} });
      const fams = nodeGauges({
        store: () => ({ volumes: [] }),
        holdings: () => [{ contentId: 'l', name: 'new', size: 9, haveBytes: 9 }],
        withdrawnHeld: () => [{ contentId: 'w', name: 'old', haveBytes: 9 }],
        certificates: () => [{ cert: 'node', pem: sec.certPem }],
        spread: () => [{ contentId: 'c', name: 'n', size: 1, nodes: [{ qualified: true, haveBytes: 0, complete: false, stuck: 'no-holder' }, { qualified: true, haveBytes: 0, complete: false, stuck: null }] }],
      });
      const text = renderPrometheus(fams);
      assert.match(text, /canopy_distribution_stuck_nodes\{content="c",name="n"\} 1\n/);
      assert.match(text, /canopy_withdrawn_held_bytes\{content="w",name="old"\} 9\n/);
      assert.doesNotMatch(text, /canopy_withdrawn_held_bytes\{content="l"/);
      const end = Number(/canopy_certificate_expiry_timestamp_seconds\{cert="node"\} (\d+)/.exec(text)![1]);
      assert.equal(end, Math.floor(Date.parse(new X509Certificate(sec.certPem).validTo) / 1000));
      assert.ok(end * 1000 > Date.now());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
