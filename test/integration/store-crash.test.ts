/**
 * Crash safety of the block store with real processes: a node is killed with SIGKILL again
 * and again while it ingests a publish and while it downloads. After every kill, before
 * any restart, every block file on every volume hashes to its name and every block the
 * index lists reads back verified; after the restart the scrub leaves no temp files and no
 * block that no content uses; at the end the content is served byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliCommand, LocalNetwork, stopProcess, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { BlockStore, type StoreStats } from '../../src/store/block-store.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { Volume } from '../../src/store/volume.js';
import { checkBlockFiles, packFiles, tmpFiles } from '../helpers/volumes.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { waitFor as waitEvery } from '../helpers/wait.js';

/** Polls every 20 ms: the kills land at random block counts, which coarser polling would skip past. */
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => waitEvery(what, check, timeoutMs, 20);

const KILLS = 4;

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function kill(node: RunningNode): Promise<void> {
  const exited = once(node.process, 'exit');
  node.process.kill('SIGKILL');
  await exited;
}

/** `canopy store serve` as its own process; resolves with its URL once it listens. */
async function startServe(dataDir: string): Promise<{ http: string; process: ChildProcess }> {
  const { command, args } = cliCommand();
  const child = spawn(command, [...args, 'store', 'serve', '--data', dataDir, '--http-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    const event = JSON.parse(line) as { event?: string; http: string };
    if (event.event === 'ready') {
      child.stdout!.resume();
      return { http: event.http, process: child };
    }
  }
  throw new Error('store serve exited before it was ready');
}

async function getJson<T>(url: string): Promise<T> {
  const res = await apiFetch(url);
  return (await res.json()) as T;
}


/** The invariants a kill must never break, checked on the dead node's disks. */
async function checkAfterKill(dataDir: string, volumes: string[]): Promise<void> {
  for (const v of volumes) checkBlockFiles(v);
  const reader = BlockStore.openReadOnly(dataDir);
  try {
    for (const row of reader.index.allBlocks()) await reader.get(row.hash); // throws if missing or corrupt
  } finally {
    reader.close();
  }
}

describe('crash safety of the batched write path: kill -9 of a process committing 32 writes at a time', () => {
  it('every block whose put resolved is visible and whole, no partial block is ever visible, the scrub leaves no temp file', async () => {
    const dir = tempDir('canopy-crash-batch-');
    const data = path.join(dir.path, 'data');
    const volumes = [0, 1].map((i) => path.join(dir.path, `v${i}`));
    let packsSeen = 0;
    try {
      for (let k = 0; k < KILLS; k++) {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'helpers', 'store-writer.ts'), data, ...volumes], { stdio: ['ignore', 'pipe', 'inherit'] });
        const acknowledged: string[] = [];
        const threshold = 20 + Math.floor(Math.random() * 200);
        for await (const line of createInterface({ input: child.stdout! })) {
          acknowledged.push(line);
          if (acknowledged.length >= threshold) break;
        }
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
        await checkAfterKill(data, volumes);
        const reader = BlockStore.openReadOnly(data);
        try {
          for (const hash of acknowledged) assert.ok(reader.has(hash), `block ${hash.slice(0, 12)} was acknowledged but is not indexed after the kill`);
        } finally {
          reader.close();
        }
        packsSeen += volumes.reduce((n, v) => n + packFiles(v).length, 0);
        // The writer's next start scrubs: temp files of the batch that was cut go, and packs no index row names.
        const next = new BlockStore(data, volumes.map((v) => ({ path: v })));
        for (const v of volumes) {
          const named = new Set(next.index.packedOn(Volume.peekId(v)!).map((r) => r.pack));
          assert.deepEqual(packFiles(v).filter((p) => !named.has(p)), [], 'a pack no row names is left');
        }
        next.close();
        for (const v of volumes) assert.deepEqual(tmpFiles(v), []);
      }
      assert.ok(packsSeen > 0, "the writer's deferred small blocks went into packs (the kills landed on that path too)");
    } finally {
      dir.remove();
    }
  });
});

describe('crash safety: kill -9 during ingest and during download', () => {
  const dir = tempDir('canopy-crash-');
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  const volumesOf = (name: string) => [0, 1, 2].map((i) => path.join(dir.path, 'disks', name, `d${i}`));
  const volumeArgs = (name: string) => volumesOf(name).flatMap((v) => ['--volume', v]);
  const rootDir = path.join(dir.path, 'net', 'root');
  let file = '';
  let sha = '';
  let contentId = '';

  const startRoot = async () => {
    network.root = await network.spawnNode({ name: 'root', attrs: {} }, 0, ['--root', ...volumeArgs('root')]);
    return network.root;
  };

  before(async () => {
    file = path.join(dir.path, 'payload.bin');
    sha = await writeSample(file, 48 * 2 ** 20, 'crash');
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('never leaves a bad block or a half ingest behind when the origin is killed while ingesting', async () => {
    // The kills must land while the ingest is writing, and with the shipped 16-thread pool the root
    // stores these 192 blocks in a fraction of a second: a kill after a 20 ms poll may still come
    // after the publish has finished (CI saw it at 155 and at 102 of 192). Such a kill tests the
    // other promise instead (a publish reported complete is durable: whole after the restart); the
    // root is then wiped and the loop goes on until KILLS kills have landed mid-ingest.
    let midIngest = 0;
    for (let attempt = 0; midIngest < KILLS; attempt++) {
      assert.ok(attempt < 3 * KILLS, `only ${midIngest} of ${attempt} kills landed while the ingest was writing`);
      const root = await startRoot();
      const publish = runCli(['publish', file, '--to', root.api, '--block-size', '256KiB', '--json']);
      const threshold = 5 + Math.floor(Math.random() * 100);
      await waitFor('blocks to be written', async () => (await getJson<StoreStats>(`${root.api}/api/store`)).blocks >= threshold);
      await kill(root);
      const res = await publish;
      await checkAfterKill(rootDir, volumesOf('root'));
      const again = await startRoot();
      const stats = await getJson<StoreStats>(`${again.api}/api/store`);
      if (res.code === 0) {
        const id = lastJson<{ contentId: string }>(res.stdout).contentId;
        const held = await getJson<{ local: { complete: boolean } }>(`${again.api}/api/contents/${id}`);
        assert.ok(held.local.complete && stats.blocks === 192, `a publish reported complete before the kill (once ${threshold} of 192 were stored) is whole after it: ${stats.blocks} blocks`);
        await kill(again);
        for (const d of [rootDir, ...volumesOf('root')]) rmSync(d, { recursive: true, force: true });
        continue;
      }
      midIngest++;
      assert.equal(stats.blocks, 0, `after restart ${attempt}: an interrupted ingest leaves no blocks`);
      for (const v of volumesOf('root')) assert.deepEqual(tmpFiles(v), []);
      await kill(again);
    }
    const root = await startRoot();
    const res = await runCli(['publish', file, '--to', root.api, '--block-size', '256KiB', '--json']);
    assert.equal(res.code, 0, res.stderr);
    contentId = lastJson<{ contentId: string }>(res.stdout).contentId;
    const stats = await getJson<StoreStats>(`${root.api}/api/store`);
    assert.equal(stats.blocks, 192);
    assert.ok(stats.balance !== null && stats.balance <= 1.05, `balance ${stats.balance}`);
  });

  it('never leaves a bad block behind when a downloading node is killed, and resumes to the exact bytes', async () => {
    assert.ok(contentId, 'needs the content published above');
    const join = `${network.root!.peer.host}:${network.root!.peer.port}`;
    const nodeDir = path.join(dir.path, 'net', 'eu');
    const start = () => network.spawnNode({ name: 'eu', attrs: { region: 'eu' } }, 1, ['--join', join, ...volumeArgs('eu')]);
    const have = async (node: RunningNode) => (await getJson<{ local: { haveBlocks: number } }>(`${node.api}/api/contents/${contentId}`)).local.haveBlocks;
    for (let k = 0; k < KILLS; k++) {
      const node = await start();
      const threshold = 5 + Math.floor(Math.random() * 150);
      await waitFor('blocks to arrive', async () => (await have(node)) >= threshold);
      // A second process reads the same index and volumes while the node writes.
      const verify = await runCli(['store', 'verify', '--data', nodeDir, '--json']);
      assert.equal(verify.code, 0, verify.stderr);
      assert.equal(lastJson<{ unreadable: number }>(verify.stdout).unreadable, 0);
      await kill(node);
      await checkAfterKill(nodeDir, volumesOf('eu'));
    }
    // A second edge process serves from the same volumes and index, read-only, while the node writes.
    const edge = await startServe(nodeDir);
    try {
      const node = await start();
      network.nodes.push(node);
      await waitFor('the download to complete', async () => (await have(node)) === 192, 120_000);
      // It may hold every block from before the kill; it serves once it has synced the catalog.
      await waitFor('the node to serve', async () => (await fetch(`${node.http}/content/${contentId}`, { method: 'HEAD' })).status === 200);
      for (const base of [node.http, edge.http]) {
        const out = path.join(dir.path, 'eu.bin');
        const dl = await runCommand('curl', ['-sS', '--fail', '-o', out, `${base}/content/${contentId}`]);
        assert.equal(dl.code, 0, `${base}: ${dl.stderr}`);
        assert.equal(await fileSha256(out), sha, `${base} served other bytes`);
      }
    } finally {
      await stopProcess(edge.process);
    }
    const node = network.nodes[0]!;
    const stats = await getJson<StoreStats>(`${node.api}/api/store`);
    assert.equal(stats.blocks, 192);
    assert.ok(stats.volumes.every((v) => v.blocks >= 60), JSON.stringify(stats.volumes.map((v) => v.blocks)));
  });
});
