/**
 * Status tells the truth about nodes that cannot make progress (issue 24), with real
 * processes: a node whose only volume (a real bind mount) is remounted read-only is stuck
 * with `error` and the EROFS message while what it already holds stays counted and served,
 * and it finishes by itself once the volume is writable again; a hung node (SIGSTOP) is
 * reported offline by name, from the control tree's facts, although its TCP connection to
 * the root stays open.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalNetwork, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { apiFetch, authHeader } from '../helpers/api-fetch.js';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';
import { isRoot, Mounts } from '../helpers/volumes.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 2 ** 20;

describe('status names stuck nodes with the right reason', { skip: isRoot ? false : 'needs root to bind-mount and remount a volume read-only' }, () => {
  const dir = tempDir('canopy-stuck-');
  const mounts = new Mounts();
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  const volume = path.join(dir.path, 'mnt');
  let disk: RunningNode;
  let hung: RunningNode;
  let emptyList = '';

  const publish = async (label: string, size: number): Promise<{ contentId: string; file: string }> => {
    const file = path.join(dir.path, `${label}.bin`);
    await writeSample(file, size, label);
    const r = await runCli(['publish', file, '--criteria', 'region=eu', '--block-size', '1MiB', '--json', '--to', network.root!.api]);
    assert.equal(r.code, 0, r.stderr);
    return { contentId: lastJson<{ contentId: string }>(r.stdout).contentId, file };
  };
  const status = (id: string) => apiFetch(`${network.root!.api}/api/contents/${id}/status`).then((r) => r.json() as Promise<ContentStatus>);

  before(async () => {
    mounts.bind(path.join(dir.path, 'disk'), volume);
    network.root = await network.spawnNode({ name: 'root', attrs: {} }, 0, ['--root']);
    emptyList = (await runCli(['nodes', 'list', '--to', network.root.api])).stdout;
    const join = ['--join', `${network.root.peer.host}:${network.root.peer.port}`];
    disk = await network.spawnNode({ name: 'eu-disk', attrs: { region: 'eu' } }, 1, [...join, '--volume', path.join(volume, 'v')]);
    hung = await network.spawnNode({ name: 'eu-hung', attrs: { region: 'eu' } }, 2, join);
    network.nodes.push(disk, hung);
    await network.waitJoined(2);
  });
  after(async () => {
    hung.process.kill('SIGCONT');
    await network.stop();
    mounts.cleanup();
    dir.remove();
  });

  it('says members are rejoining when a freshly started root has none yet', () => {
    assert.match(emptyList, /no nodes yet: the root started \d+ s ago and members are rejoining \(syncing\)/);
  });

  it('reports a read-only volume as error with EROFS, keeps its blocks, and recovers by itself', async () => {
    const first = await publish('first', 6 * MIB);
    await waitFor('the first content everywhere', async () => (await status(first.contentId)).convergence.converged);
    mounts.bindReadOnly(volume, true);
    const second = await publish('second', 4 * MIB);
    await waitFor('eu-disk stuck with error', async () => (await status(second.contentId)).convergence.stuck.some((s) => s.name === 'eu-disk' && s.reason === 'error'));
    const stuck = (await status(second.contentId)).convergence.stuck.find((s) => s.name === 'eu-disk')!;
    assert.match(stuck.detail, /EROFS|read-only/);
    assert.doesNotMatch(stuck.detail, /no room/);
    const held = (await status(first.contentId)).nodes.find((n) => n.name === 'eu-disk')!;
    assert.equal(held.complete, true, 'blocks on the read-only volume still count');
    const res = await fetch(`${disk.http}/content/${first.contentId}`);
    assert.equal(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex'), createHash('sha256').update(readFileSync(first.file)).digest('hex'));
    const recheck = await apiFetch(`${disk.api}/api/store/recheck`, { method: 'POST', headers: authHeader() }).then((r) => r.json() as Promise<{ volumes: { state: string; reason: string }[] }>);
    assert.equal(recheck.volumes[0]!.state, 'read-only');
    mounts.bindReadOnly(volume, false);
    await waitFor('the second content on eu-disk once its volume is writable', async () => (await status(second.contentId)).convergence.converged, 60_000);
    assert.match(readFileSync(path.join(disk.dataDir, 'node.log'), 'utf8'), /"msg":"volume back in service"/);
  });

  it('reports a hung node offline by name', async () => {
    hung.process.kill('SIGSTOP');
    const third = await publish('third', 2 * MIB);
    await waitFor('eu-hung reported offline', async () => (await status(third.contentId)).convergence.stuck.some((s) => s.name === 'eu-hung' && s.reason === 'offline'), 30_000);
    const s = await status(third.contentId);
    assert.equal(s.nodes.find((n) => n.name === 'eu-hung')!.online, false);
    const human = await runCli(['status', third.contentId, '--to', network.root!.api]);
    assert.match(human.stdout, /eu-hung.*offline/);
  });
});
