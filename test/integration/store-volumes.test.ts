/**
 * Volumes failing under a running node, on real file systems (needs root for mounts): a
 * volume that disappears, one remounted read-only, and an ext4 volume shut down so every
 * I/O returns EIO. Each time the node marks the volume failed, reports it in
 * `canopy store stats` and its log, keeps serving, and re-fetches the lost blocks from the
 * origin so it again holds the whole content. Then a full disk: the publish fails with
 * ERR_STORE_FULL and leaves no block behind, and the node still accepts what fits.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalNetwork, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { StoreStats } from '../../src/store/block-store.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { checkBlockFiles, isRoot, Mounts, tmpFiles } from '../helpers/volumes.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 2 ** 20;

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}


async function storeStats(node: RunningNode): Promise<StoreStats> {
  const res = await runCli(['store', 'stats', '--to', node.api, '--json']);
  assert.equal(res.code, 0, res.stderr);
  return lastJson<StoreStats>(res.stdout);
}

describe('volume failures and a full disk under a running node', { skip: isRoot ? false : 'needs root to mount file systems' }, () => {
  const dir = tempDir('canopy-volumes-');
  const mounts = new Mounts();
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  const disk = (name: string) => path.join(dir.path, 'disks', name);
  let sha = '';
  let contentId = '';
  let node: RunningNode;

  before(async () => {
    mounts.tmpfs(disk('ro'), '64m');
    mounts.ext4(disk('eio'), path.join(dir.path, 'eio.img'), 64);
    mounts.tmpfs(disk('small'), '16m');
    const file = path.join(dir.path, 'payload.bin');
    sha = await writeSample(file, 24 * MIB, 'volumes');
    network.root = await network.spawnNode({ name: 'root', attrs: {} }, 0, ['--root', '--volume', disk('root-a'), '--volume', disk('root-b')]);
    const join = `${network.root.peer.host}:${network.root.peer.port}`;
    const volumes = ['ok', 'gone', 'ro', 'eio'].flatMap((d) => ['--volume', path.join(disk(d), d === 'ro' || d === 'eio' ? 'vol' : '')]);
    node = await network.spawnNode({ name: 'eu', attrs: { region: 'eu' } }, 1, ['--join', join, ...volumes]);
    network.nodes.push(node);
    const res = await runCli(['publish', file, '--to', network.root.api, '--block-size', '256KiB', '--json']);
    assert.equal(res.code, 0, res.stderr);
    contentId = lastJson<{ contentId: string }>(res.stdout).contentId;
  });
  after(async () => {
    await network.stop();
    mounts.cleanup();
    dir.remove();
  });

  const holding = async () => (await apiFetch(`${node.api}/api/contents/${contentId}`).then((r) => r.json() as Promise<{ local: { haveBlocks: number } }>)).local.haveBlocks;

  async function servesExactBytes(): Promise<void> {
    const out = path.join(dir.path, 'served.bin');
    const dl = await runCommand('curl', ['-sS', '--fail', '-o', out, `${node.http}/content/${contentId}`]);
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(await fileSha256(out), sha);
  }

  async function breakAndHeal(volume: string, breakIt: () => void, failedCount: number): Promise<void> {
    const before = (await storeStats(node)).volumes.find((v) => v.path === volume)!;
    assert.equal(before.state, 'ok');
    assert.ok(before.blocks > 0, `${volume} holds blocks before it breaks`);
    breakIt();
    await waitFor(`${volume} to be marked failed`, async () => (await storeStats(node)).failedVolumes.includes(volume));
    await waitFor('the lost blocks to be fetched again', async () => (await holding()) === 96);
    const stats = await storeStats(node);
    assert.equal(stats.failedVolumes.length, failedCount);
    assert.equal(stats.blocks, 96);
    assert.ok(stats.volumes.find((v) => v.path === volume)!.reason.length > 0);
    await servesExactBytes();
  }

  it('holds the content striped over all four volumes', async () => {
    await waitFor('the download', async () => (await holding()) === 96);
    const stats = await storeStats(node);
    assert.deepEqual(stats.volumes.map((v) => v.blocks), [24, 24, 24, 24]);
    await servesExactBytes();
  });

  it('survives a volume that disappears', async () => {
    await breakAndHeal(disk('gone'), () => rmSync(disk('gone'), { recursive: true, force: true }), 1);
  });

  it('keeps serving a volume remounted read-only, and takes it back when it is writable again', async () => {
    const volume = path.join(disk('ro'), 'vol');
    const held = (await storeStats(node)).volumes.find((v) => v.path === volume)!.blocks;
    assert.ok(held > 0);
    mounts.readOnly(disk('ro'));
    await waitFor(`${volume} to be marked read-only`, async () => (await storeStats(node)).volumes.find((v) => v.path === volume)!.state === 'read-only');
    const stats = await storeStats(node);
    assert.equal(stats.volumes.find((v) => v.path === volume)!.blocks, held, 'its blocks are still held');
    assert.match(stats.volumes.find((v) => v.path === volume)!.reason, /EROFS/);
    assert.equal(await holding(), 96);
    await servesExactBytes();
    mounts.readWrite(disk('ro'));
    await waitFor(`${volume} to return to service by itself`, async () => (await storeStats(node)).volumes.find((v) => v.path === volume)!.state === 'ok');
  });

  it('survives a volume whose every I/O fails with EIO', async () => {
    await breakAndHeal(path.join(disk('eio'), 'vol'), () => mounts.ioErrors(disk('eio')), 2);
    const stats = await storeStats(node);
    assert.equal(stats.volumes.filter((v) => v.state === 'ok').reduce((n, v) => n + v.blocks, 0), 96, 'everything now lives on the two working volumes');
    const log = readFileSync(path.join(node.dataDir, 'node.log'), 'utf8');
    assert.equal(log.match(/"msg":"volume failed"/g)?.length, 2);
    const human = await runCli(['store', 'stats', '--to', node.api]);
    assert.match(human.stdout, /failed volumes: .*gone/);
    const metrics = await apiFetch(`${node.api}/api/store/metrics`).then((r) => r.text());
    assert.equal(metrics.match(/^canopy_store_volume_failed\{[^}]*\} 1$/gm)?.length, 2, metrics);
  });

  it('lets the origin re-fetch from the nodes what it lost with a volume', async () => {
    const root = network.root!;
    rmSync(disk('root-b'), { recursive: true, force: true });
    await waitFor('the root to mark its volume failed', async () => (await storeStats(root)).failedVolumes.includes(disk('root-b')));
    await waitFor('the root to hold everything again', async () => (await storeStats(root)).blocks === 96);
    const log = readFileSync(path.join(root.dataDir, 'node.log'), 'utf8');
    assert.match(log, /"msg":"re-fetching blocks lost with a volume"/);
  });

  it('refuses a publish that does not fit with ERR_STORE_FULL and keeps nothing of it', async () => {
    await network.stop();
    const small = path.join(disk('small'), 'vol');
    const root = await network.spawnNode({ name: 'small-root', attrs: {} }, 2, ['--root', '--volume', small]);
    network.root = root;
    network.nodes.length = 0;
    const big = path.join(dir.path, 'big.bin');
    await writeSample(big, 24 * MIB, 'too big');
    const res = await runCli(['publish', big, '--to', root.api, '--block-size', '1MiB']);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /ERR_STORE_FULL/);
    const stats = await storeStats(root);
    assert.equal(stats.blocks, 0);
    assert.equal(checkBlockFiles(small), 0);
    assert.deepEqual(tmpFiles(small), []);
    const fits = path.join(dir.path, 'fits.bin');
    await writeSample(fits, 4 * MIB, 'fits');
    const ok = await runCli(['publish', fits, '--to', root.api, '--block-size', '1MiB']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await storeStats(root)).blocks, 4);
  });
});
