/**
 * The content lifecycle with real processes: a new version under the same name moves only
 * the blocks that changed (content-defined chunking); a withdrawal stops every node serving
 * it at once and frees its blocks, and a node that was down during the withdrawal learns it
 * from the catalog sync when it rejoins, before it serves anything; an expiring content goes
 * out of service by itself.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalNetwork, stopProcess, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { apiFetch } from '../helpers/api-fetch.js';

const SIZE = 8 * 2 ** 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function get(url: string): Promise<{ status: number; sha256: string }> {
  const res = await fetch(url);
  return { status: res.status, sha256: sha(Buffer.from(await res.arrayBuffer())) };
}

async function localHolding(node: RunningNode, contentId: string): Promise<{ haveBlocks: number; haveBytes: number; complete: boolean }> {
  const res = await apiFetch(`${node.api}/api/contents/${contentId}`);
  return ((await res.json()) as { local: { haveBlocks: number; haveBytes: number; complete: boolean } }).local;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('content lifecycle over real processes', () => {
  const dir = tempDir('canopy-test-9-');
  const network = new LocalNetwork(`${dir.path}/net`);
  const v1File = `${dir.path}/v1/build.bin`;
  const v2File = `${dir.path}/v2/build.bin`;
  let v1 = '';
  let v2 = '';
  const cli = (...args: string[]) => runCli([...args, '--to', network.root!.api]);

  before(async () => {
    await network.start([
      { name: 'eu-a', attrs: { region: 'eu' } },
      { name: 'eu-b', attrs: { region: 'eu' } },
      { name: 'us-c', attrs: { region: 'us' } },
    ]);
    for (const d of ['v1', 'v2']) mkdirSync(`${dir.path}/${d}`);
    await writeSample(v1File, SIZE, 'lifecycle-9');
    const original = readFileSync(v1File);
    const at = 300_001;
    writeFileSync(v2File, Buffer.concat([original.subarray(0, at), randomBytes(100_000), original.subarray(at)]));
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('publishes a second version that moves only the changed blocks, and /files serves the newest', async () => {
    const p1 = await cli('publish', v1File, '--criteria', 'region=eu', '--chunking', 'cdc', '--block-size', '64KiB', '--json');
    assert.equal(p1.code, 0, p1.stderr);
    v1 = lastJson<{ contentId: string }>(p1.stdout).contentId;
    const w1 = await cli('status', v1, '--watch', '--json');
    assert.equal(w1.code, 0, w1.stderr);
    assert.equal(lastJson<ContentStatus>(w1.stdout).convergence.converged, true);

    const p2 = await cli('publish', v2File, '--criteria', 'region=eu', '--chunking', 'cdc', '--block-size', '64KiB', '--json');
    assert.equal(p2.code, 0, p2.stderr);
    const published = lastJson<{ contentId: string; version: number; chunking: string }>(p2.stdout);
    v2 = published.contentId;
    assert.equal(published.version, 2);
    assert.equal(published.chunking, 'fastcdc');
    const w2 = await cli('status', v2, '--watch', '--json');
    const status = lastJson<ContentStatus>(w2.stdout);
    assert.equal(status.previous, v1);
    assert.deepEqual([status.convergence.qualified, status.convergence.complete, status.convergence.none], [2, 2, 0]);
    for (const n of status.nodes.filter((x) => x.qualified)) {
      assert.ok(n.fetchedBytes > 0 && n.fetchedBytes < SIZE * 0.15, `${n.name} fetched ${n.fetchedBytes} of ${status.size} bytes for v2`);
      assert.ok(n.fetchedBytes <= status.changedBytes, `${n.name} fetched more than the version changed`);
    }
    const eu = network.nodes.find((n) => n.name === 'eu-a')!;
    assert.equal((await get(`${eu.http}/files/build.bin`)).sha256, sha(readFileSync(v2File)));
    assert.equal((await get(`${eu.http}/content/${v1}`)).sha256, sha(readFileSync(v1File)));
    const human = await cli('status', v2);
    assert.match(human.stdout, /v2\/2/);
    assert.match(human.stdout, /2\/2 qualified nodes hold all, 0 part, 0 none\s+converged/);
  });

  it('withdraws a version everywhere; a node that was down learns it on rejoin before serving', async () => {
    const eu = network.nodes.find((n) => n.name === 'eu-a')!;
    const downIndex = network.nodes.findIndex((n) => n.name === 'eu-b');
    const down = network.nodes[downIndex]!;
    await stopProcess(down.process);

    const w = await cli('withdraw', v2, '--reason', 'bad build', '--json');
    assert.equal(w.code, 0, w.stderr);
    assert.equal(lastJson<{ state: string }>(w.stdout).state, 'withdrawn');
    const gone = lastJson<ContentStatus>((await cli('status', v2, '--json')).stdout);
    assert.ok(gone.movedBytes > 0, 'a withdrawn version still says what it moved');
    await until('eu-a to stop serving v2', async () => ((await get(`${eu.http}/content/${v2}`)).status === 410 ? true : undefined));
    // The name falls back to the newest live version; blocks v2 shares with v1 stay.
    assert.equal((await get(`${eu.http}/files/build.bin`)).sha256, sha(readFileSync(v1File)));
    assert.equal((await localHolding(eu, v1)).complete, true);
    const held = await until('eu-a to free v2-only blocks', async () => {
      const h = await localHolding(eu, v2);
      return h.haveBytes < SIZE ? h : undefined;
    });
    assert.ok(held.haveBytes > SIZE * 0.8, 'blocks shared with v1 must stay');

    // The node comes back: from its first answer on, it never serves the withdrawn version.
    const back = await network.spawnNode({ name: down.name, attrs: down.attrs }, downIndex + 1, ['--join', `${network.root!.peer.host}:${network.root!.peer.port}`]);
    network.nodes[downIndex] = back;
    const seen = new Set<number>();
    await until('eu-b to sync', async () => {
      const { status } = await get(`${back.http}/content/${v2}`);
      seen.add(status);
      return status === 410 ? true : undefined;
    });
    assert.deepEqual([...seen].filter((s) => s !== 503 && s !== 410), [], `eu-b answered ${[...seen].join(',')} for a withdrawn content`);
    await until('eu-b to free v2-only blocks', async () => ((await localHolding(back, v2)).haveBytes < SIZE ? true : undefined));
    assert.equal((await get(`${back.http}/files/build.bin`)).sha256, sha(readFileSync(v1File)));
    const ls = await cli('ls');
    assert.match(ls.stdout, /v2 {2}build\.bin .*WITHDRAWN/);
  });

  it('cuts a client download in progress when its content is withdrawn', async () => {
    // Larger than what loopback socket buffers hold, so the cut happens while bytes still flow.
    const BIG = 48 * 2 ** 20;
    const file = `${dir.path}/big.bin`;
    await writeSample(file, BIG, 'big');
    const p = await cli('publish', file, '--criteria', 'region=eu', '--json');
    assert.equal(p.code, 0, p.stderr);
    const { contentId } = lastJson<{ contentId: string }>(p.stdout);
    assert.equal((await cli('status', contentId, '--watch', '--json')).code, 0);
    const eu = network.nodes.find((n) => n.name === 'eu-a')!;
    const partial = `${dir.path}/partial.bin`;
    const slow = runCommand('curl', ['-sS', '--limit-rate', '1M', '-o', partial, `${eu.http}/content/${contentId}`], { timeoutMs: 120_000 });
    await until('the slow download to start', async () => (existsSync(partial) && statSync(partial).size > 0 ? true : undefined));
    const w = await cli('withdraw', contentId, '--json');
    assert.equal(w.code, 0, w.stderr);
    const cut = await slow;
    assert.notEqual(cut.code, 0, 'the download of a withdrawn content must not complete');
    assert.ok(statSync(partial).size < BIG, `the client got ${statSync(partial).size} bytes`);
  });

  it('takes an expiring content out of service on every node by itself', async () => {
    const file = `${dir.path}/short.bin`;
    await writeSample(file, 2 ** 20, 'short-lived');
    const p = await cli('publish', file, '--criteria', 'region=eu', '--expires', '4s', '--json');
    assert.equal(p.code, 0, p.stderr);
    const { contentId, expires } = lastJson<{ contentId: string; expires: string }>(p.stdout);
    assert.ok(Date.parse(expires) > Date.now() - 5_000);
    for (const node of network.nodes.filter((n) => n.attrs.region === 'eu')) {
      await until(`${node.name} to expire the content`, async () => ((await get(`${node.http}/content/${contentId}`)).status === 410 ? true : undefined));
      await until(`${node.name} to free its blocks`, async () => ((await localHolding(node, contentId)).haveBlocks === 0 ? true : undefined));
    }
    const st = lastJson<ContentStatus>((await cli('status', contentId, '--json')).stdout);
    assert.equal(st.state, 'expired');
  });

  it('holds background prefetch outside its window and says why', async () => {
    const file = `${dir.path}/nightly.bin`;
    await writeSample(file, 2 ** 20, 'nightly');
    const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    const window = `${hhmm(new Date(Date.now() + 2 * 3_600_000))}-${hhmm(new Date(Date.now() + 3 * 3_600_000))}`;
    const p = await cli('publish', file, '--criteria', 'region=eu', '--window', window, '--rate', '10MiB', '--json');
    assert.equal(p.code, 0, p.stderr);
    const { contentId, prefetch } = lastJson<{ contentId: string; prefetch: { window: string; rate: number } }>(p.stdout);
    assert.deepEqual(prefetch, { window, rate: 10 * 2 ** 20 });
    const st = await until('both eu nodes to report the closed window', async () => {
      const s = lastJson<ContentStatus>((await cli('status', contentId, '--json')).stdout);
      return s.convergence.stuck.filter((x) => x.reason === 'window').length === 2 ? s : undefined;
    });
    assert.deepEqual([st.convergence.none, st.convergence.complete], [2, 0]);
    assert.match(st.convergence.stuck[0]!.detail, new RegExp(`prefetch runs ${window}`));
    const human = await cli('status', contentId);
    assert.match(human.stdout, /stuck: eu-\w: window/);
    const w = await cli('withdraw', contentId, '--json');
    assert.equal(w.code, 0, w.stderr);
  });

  it('names a node whose volume is full as stuck for no space', async (t) => {
    const volume = `${dir.path}/small-volume`;
    mkdirSync(volume);
    const mount = await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=1m', `canopy-test-9`, volume]);
    if (mount.code !== 0) return t.skip(`cannot mount a tmpfs here: ${mount.stderr.trim()}`);
    let small: RunningNode | undefined;
    try {
      small = await network.spawnNode({ name: 'eu-small', attrs: { region: 'eu' } }, 9, ['--join', `${network.root!.peer.host}:${network.root!.peer.port}`, '--volume', volume]);
      network.nodes.push(small);
      const st = await until('eu-small to report no space for v1', async () => {
        const s = lastJson<ContentStatus>((await cli('status', v1, '--json')).stdout);
        return s.convergence.stuck.some((x) => x.name === 'eu-small' && x.reason === 'no-space') ? s : undefined;
      });
      assert.equal(st.convergence.partial + st.convergence.none >= 1, true);
      assert.match(st.convergence.stuck.find((x) => x.name === 'eu-small')!.detail, /ENOSPC|no space/i);
    } finally {
      // The node must be gone before its volume can be unmounted.
      if (small) await stopProcess(small.process);
      await runCommand('umount', [volume]);
    }
  });
});
