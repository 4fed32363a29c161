/**
 * The monitoring files operators load: promtool checks the alerting rules and runs their unit
 * tests (each alert fires on the series that should fire it, not before), and every metric the
 * rules and the Grafana dashboard use is one a node exports and docs/OPERATIONS.md lists.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const DIR = 'packaging/monitoring';
const used = (text: string) => new Set([...text.matchAll(/\bcanopy_[a-z_]+/g)].map((m) => m[0]));

describe('monitoring files', () => {
  it('pass promtool check rules and promtool test rules', () => {
    assert.match(execFileSync('promtool', ['check', 'rules', `${DIR}/canopy-alerts.yml`], { encoding: 'utf8' }), /SUCCESS: 6 rules found/);
    assert.match(execFileSync('promtool', ['test', 'rules', 'canopy-alerts.test.yml'], { cwd: DIR, encoding: 'utf8' }), /SUCCESS/);
  });

  it('use only metrics that nodes export and the docs list', () => {
    const sources = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const exported = used(sources.map((f) => readFileSync(path.join('src', f), 'utf8')).join('\n'));
    const documented = used(readFileSync('docs/OPERATIONS.md', 'utf8'));
    const dashboard = JSON.parse(readFileSync(`${DIR}/canopy-grafana.json`, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const m of [...used(readFileSync(`${DIR}/canopy-alerts.yml`, 'utf8')), ...used(exprs)]) {
      assert.ok(exported.has(m), `${m} is not exported by a node`);
      assert.ok(documented.has(m), `${m} is not in docs/OPERATIONS.md`);
    }
  });
});
