/**
 * The control tree over real processes: seven nodes with a fan-out of two form a tree of
 * several levels; `canopy criteria check` counts through the rollups; an interior node is
 * killed, its children re-attach, and a publish afterwards still reaches every qualified
 * node (and its announcement every live node).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalNetwork, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';
import { apiFetch } from '../helpers/api-fetch.js';

interface TreeView {
  attached: boolean;
  depth: number;
  parent: { id: string } | null;
  path: { id: string }[];
  children: { id: string }[];
  subtreeNodes: number;
}

const tree = (n: RunningNode) => apiFetch(`${n.api}/api/tree`).then((r) => r.json() as Promise<TreeView>);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('control tree with real processes', () => {
  const dir = tempDir('canopy-tree-4-');
  const network = new LocalNetwork(`${dir.path}/net`);
  const regions = ['eu', 'us', 'eu', 'eu', 'us', 'eu', 'us'];

  before(async () => {
    await network.start(
      regions.map((region, i) => ({ name: `n${i + 1}`, attrs: { region, tier: i % 3 === 0 ? 'hub' : 'edge' } })),
      ['--fanout', '2', '--heartbeat', '250'],
    );
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('places nodes under parents with room and counts matches through the rollups', async () => {
    const views = await until('every node attached', async () => {
      const v = await Promise.all(network.nodes.map(tree));
      return v.every((t) => t.attached) ? v : undefined;
    });
    const rootView = await tree(network.root!);
    assert.ok(rootView.children.length <= 2 && views.every((v) => v.children.length <= 2), 'fan-out 2 is respected');
    assert.ok(Math.max(...views.map((v) => v.depth)) >= 2, 'seven nodes under fan-out 2 need several levels');
    await until('the root rollup to cover everyone', async () => ((await tree(network.root!)).subtreeNodes === 8 ? true : undefined));

    const eu = await runCli(['criteria', 'check', 'region=eu & !tier=hub', '--to', network.root!.api, '--json']);
    assert.equal(eu.code, 0, eu.stderr);
    const expected = network.nodes.filter((n) => n.attrs.region === 'eu' && n.attrs.tier !== 'hub').length;
    assert.deepEqual(lastJson(eu.stdout), { criteria: 'region=eu & !tier=hub', matching: expected, partial: false, nodes: 8 });
    const human = await runCli(['criteria', 'check', 'region=us', '--to', network.root!.api]);
    assert.match(human.stdout, /^3 of 8 nodes match "region=us"/);
    const bad = await runCli(['criteria', 'check', 'region=eu & (tier=edge', '--to', network.root!.api]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ERR_CRITERIA_SYNTAX.*position 22, expected "\)"/);
  });

  it('repairs itself when an interior node dies, and a new publish still reaches every qualified node', async () => {
    const views = await Promise.all(network.nodes.map(tree));
    const victimIndex = views.findIndex((v) => v.children.length > 0);
    assert.ok(victimIndex >= 0, 'there is an interior node');
    const victim = network.nodes[victimIndex]!;
    const orphans = views[victimIndex]!.children.map((c) => c.id);
    victim.process.kill('SIGKILL');
    const live = network.nodes.filter((n) => n !== victim);

    await until('orphans to re-attach and paths to heal', async () => {
      const v = await Promise.all(live.map(tree));
      const healed = v.every((t) => t.attached && t.parent?.id !== victim.nodeId && !t.path.some((a) => a.id === victim.nodeId));
      return healed && (await tree(network.root!)).subtreeNodes === 8 - 1 ? true : undefined;
    });
    for (const id of orphans) {
      const t = await tree(live.find((n) => n.nodeId === id)!);
      assert.notEqual(t.parent?.id, victim.nodeId);
    }

    const all = await runCli(['criteria', 'check', '*', '--to', network.root!.api, '--json']);
    assert.equal(lastJson<{ matching: number }>(all.stdout).matching, 7);

    const file = `${dir.path}/after-kill.bin`;
    await writeSample(file, 3 * 2 ** 20, 'tree-repair');
    const published = await runCli(['publish', file, '--criteria', 'region=eu', '--block-size', '256KiB', '--to', network.root!.api, '--json']);
    assert.equal(published.code, 0, published.stderr);
    const { contentId } = lastJson<{ contentId: string }>(published.stdout);

    const status = await until('every qualified live node to complete', async () => {
      const res = await runCli(['status', contentId, '--to', network.root!.api, '--json']);
      const s = lastJson<ContentStatus>(res.stdout);
      const qualified = s.nodes.filter((n) => n.qualified);
      return qualified.length > 0 && qualified.every((n) => n.complete) ? s : undefined;
    });
    const expected = live.filter((n) => n.attrs.region === 'eu').map((n) => n.name).sort();
    assert.deepEqual(status.nodes.filter((n) => n.qualified && n.complete).map((n) => n.name).sort(), expected);
    for (const n of live) {
      const res = await apiFetch(`${n.api}/api/contents/${contentId}`);
      assert.equal(res.status, 200, `${n.name} heard the announcement`);
      const body = (await res.json()) as { local: { haveBlocks: number } };
      if (n.attrs.region !== 'eu') assert.equal(body.local.haveBlocks, 0, `${n.name} must hold nothing`);
    }
  });
});
