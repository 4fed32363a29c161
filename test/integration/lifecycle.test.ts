/**
 * The content lifecycle with real processes, and the dashboard's view of it in Debian's
 * Chromium, over one network (root, eu-a, eu-b, us-c): a new version under the same name moves
 * only the blocks that changed (content-defined chunking); a content whose prefetch window is
 * closed is held and its nodes named stuck with the reason; the dashboard's versions panel
 * shows each version and what it replaces, the all/part/none counts the status API gives, the
 * bytes a version moved and the stuck nodes; a withdrawal stops every node serving it at once
 * and frees its blocks, a node that was down during the withdrawal learns it from the catalog
 * sync when it rejoins, before it serves anything, and the open page shows it without
 * reloading; a download in progress is cut; an expiring content goes out of service by itself;
 * a full volume and a hung node (SIGSTOP) are named. Screenshots land in .tmp/screenshots/.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Locator, Page } from 'playwright-core';
import { LocalNetwork, stopProcess, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { ensureWebBuilt, launchChromium, screenshot } from '../helpers/browser.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { apiFetch, withToken } from '../helpers/api-fetch.js';

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

/** Polls the page (or the API) until `fn` is truthy; a throw (a locator not there yet) counts as not yet. */
async function shown<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

/** A closed window: it opens in two hours (node local time, as the nodes read it). */
function closedWindow(): string {
  const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return `${hhmm(new Date(Date.now() + 2 * 3_600_000))}-${hhmm(new Date(Date.now() + 3 * 3_600_000))}`;
}

describe('content lifecycle over real processes, and the dashboard', () => {
  const dir = tempDir('canopy-test-9-');
  const network = new LocalNetwork(`${dir.path}/net`);
  const v1File = `${dir.path}/v1/build.bin`;
  const v2File = `${dir.path}/v2/build.bin`;
  let v1 = '';
  let v2 = '';
  let nightly = '';
  const window = closedWindow();
  let browser: Browser;
  let page: Page;
  // Published first, so that its 4 s run out while the other cases run (checked by the case named for it).
  let shortLived = { contentId: '', expires: '', publishedAt: 0 };
  const cli = (...args: string[]) => runCli([...args, '--to', network.root!.api]);
  const status = async (id: string) => (await (await apiFetch(`${network.root!.api}/api/contents/${id}/status`)).json()) as ContentStatus;
  const row = (id: string): Locator => page.locator(`[data-testid=lifecycle] tr[data-content-id="${id}"]`);

  before(async () => {
    ensureWebBuilt();
    await network.start([
      { name: 'eu-a', attrs: { region: 'eu' } },
      { name: 'eu-b', attrs: { region: 'eu' } },
      { name: 'us-c', attrs: { region: 'us' } },
    ]);
    await writeSample(`${dir.path}/short.bin`, 2 ** 20, 'short-lived');
    const p = await cli('publish', `${dir.path}/short.bin`, '--criteria', 'region=eu', '--expires', '4s', '--json');
    assert.equal(p.code, 0, p.stderr);
    shortLived = { ...lastJson<{ contentId: string; expires: string }>(p.stdout), publishedAt: Date.now() };
    for (const d of ['v1', 'v2']) mkdirSync(`${dir.path}/${d}`);
    await writeSample(v1File, SIZE, 'lifecycle-9');
    const original = readFileSync(v1File);
    const at = 300_001;
    writeFileSync(v2File, Buffer.concat([original.subarray(0, at), randomBytes(100_000), original.subarray(at)]));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
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
    assert.equal(w2.code, 0, w2.stderr);
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

  it('holds background prefetch outside its window and says why', async () => {
    const file = `${dir.path}/nightly.bin`;
    await writeSample(file, 2 ** 20, 'nightly');
    const p = await cli('publish', file, '--criteria', 'region=eu', '--window', window, '--rate', '10MiB', '--json');
    assert.equal(p.code, 0, p.stderr);
    const { contentId, prefetch } = lastJson<{ contentId: string; prefetch: { window: string; rate: number } }>(p.stdout);
    nightly = contentId;
    assert.deepEqual(prefetch, { window, rate: 10 * 2 ** 20 });
    const st = await until('both eu nodes to report the closed window', async () => {
      const s = lastJson<ContentStatus>((await cli('status', contentId, '--json')).stdout);
      return s.convergence.stuck.filter((x) => x.reason === 'window').length === 2 ? s : undefined;
    });
    assert.deepEqual([st.convergence.none, st.convergence.complete], [2, 0]);
    assert.match(st.convergence.stuck[0]!.detail, new RegExp(`prefetch runs ${window}`));
    const human = await cli('status', contentId);
    assert.match(human.stdout, /stuck: eu-\w: window/);
  });

  it('the dashboard shows each version, the counts the API gives, the bytes moved and the stuck nodes', async () => {
    await shown('both eu nodes to report the closed window', async () => (await status(nightly)).convergence.stuck.filter((s) => s.reason === 'window').length === 2);
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(withToken(`${network.root!.api}/`));
    await row(nightly).waitFor({ timeout: 60_000 });

    // Every row shows the counts the status API gives for its content.
    for (const id of [v1, v2, nightly]) {
      await shown(`the page's counts of ${id.slice(0, 8)} to be the API's`, async () => {
        const c = (await status(id)).convergence;
        const counts = await row(id).getByTestId('convergence-counts').innerText();
        return counts === `${c.complete}/${c.qualified} all · ${c.partial} part · ${c.none} none`;
      });
    }
    const s2 = await status(v2);
    assert.deepEqual([s2.convergence.qualified, s2.convergence.complete], [2, 2]);
    assert.equal(await row(v2).getByTestId('convergence-counts').innerText(), '2/2 all · 0 part · 0 none');

    // The version, what it replaces, and the bytes it really moved (a fraction of the content).
    assert.equal(await row(v1).getByTestId('version').innerText(), 'v1');
    assert.equal(await row(v2).getByTestId('version').innerText(), 'v2');
    assert.equal(await row(v1).getByTestId('replaces').count(), 0);
    assert.equal(await row(v2).getByTestId('replaces').innerText(), `replaces v1 (${v1.slice(0, 8)})`);
    assert.doesNotMatch(await row(v2).innerText(), /replaced by/, 'nothing replaces v2');
    assert.match(await row(v1).innerText(), /replaced by v2/);
    assert.equal(await row(v2).getByTestId('state').innerText(), 'live');
    assert.equal(await row(v2).getByTestId('eta').innerText(), 'converged');
    assert.equal(Number(await row(v2).getByTestId('moved').getAttribute('data-bytes')), s2.movedBytes);
    assert.ok(s2.movedBytes > 0 && s2.movedBytes < 2 * SIZE * 0.2, `v2 moved ${s2.movedBytes} bytes over 2 nodes`);
    assert.match(await row(v2).getByTestId('moved').innerText(), /changed .+ since v1/);

    // The closed window: nothing held, everything remaining, nothing moving, both nodes stuck.
    const sn = await status(nightly);
    assert.equal(await row(nightly).getByTestId('convergence-counts').innerText(), '0/2 all · 0 part · 2 none');
    assert.equal(Number(await row(nightly).getByTestId('remaining').getAttribute('data-bytes')), sn.convergence.remainingBytes);
    assert.equal(sn.convergence.remainingBytes, 2 * 2 ** 20);
    assert.equal(await row(nightly).getByTestId('remaining').innerText(), '2.0 MiB');
    assert.match(await row(nightly).getByTestId('eta').innerText(), /ETA unknown \(nothing moving\)/);
    const stuck = row(nightly).locator('[data-testid=stuck] li');
    assert.deepEqual((await stuck.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-node')}:${e.getAttribute('data-reason')}`))).sort(), ['eu-a:window', 'eu-b:window']);
    for (const text of await stuck.allInnerTexts()) assert.match(text, new RegExp(`^eu-[ab] window .*prefetch runs ${window}`));
    assert.equal(await row(v2).locator('[data-testid=stuck]').count(), 0, 'a converged content has no stuck node');
    await screenshot(page, 'dashboard-lifecycle-1');
    // The closed-window content has served its purpose.
    const w = await cli('withdraw', nightly, '--json');
    assert.equal(w.code, 0, w.stderr);
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

  it('the dashboard shows the withdrawn version as withdrawn, live, without reloading', async () => {
    // The page was loaded before the withdrawal (`withdraw v2 --reason "bad build"`, the case above).
    const after = await status(v2);
    assert.equal(after.state, 'withdrawn');
    assert.equal(after.withdrawnReason, 'bad build');
    await shown('the page to show v2 withdrawn', async () => (await row(v2).getAttribute('data-state')) === 'withdrawn');
    assert.equal(await row(v2).getByTestId('state').innerText(), 'withdrawn');
    assert.match((await row(v2).getByTestId('state').getAttribute('title')) ?? '', /: bad build$/);
    assert.equal(await row(v1).getByTestId('state').innerText(), 'live');
    assert.equal(await row(v2).getByTestId('eta').count(), 0);
    assert.match(await row(v2).innerText(), /out of service/);
    // Live contents come first, then the page of history (issue 25): find v2's row by its name, not its place.
    assert.match(await page.locator('[data-testid=spread] tr', { hasText: 'build.bin v2' }).innerText(), /build\.bin v2 withdrawn/);
    await screenshot(page, 'dashboard-lifecycle-2-withdrawn');
    // Closed so that it does not poll through the cases below; the last case opens its own.
    await page.context().close();
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
    // Published with --expires 4s before the first case; nothing has touched it since.
    const { contentId, expires, publishedAt } = shortLived;
    assert.ok(Date.parse(expires) > publishedAt - 5_000);
    for (const node of network.nodes.filter((n) => n.attrs.region === 'eu')) {
      await until(`${node.name} to expire the content`, async () => ((await get(`${node.http}/content/${contentId}`)).status === 410 ? true : undefined));
      await until(`${node.name} to free its blocks`, async () => ((await localHolding(node, contentId)).haveBlocks === 0 ? true : undefined));
    }
    const st = lastJson<ContentStatus>((await cli('status', contentId, '--json')).stdout);
    assert.equal(st.state, 'expired');
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

  it('the dashboard names a hung node (SIGSTOP) as offline on a content it should hold, without reloading', async () => {
    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(withToken(`${network.root!.api}/`));
    await row(v1).waitFor({ timeout: 60_000 });
    const hung = network.nodes.find((n) => n.name === 'eu-b')!;
    hung.process.kill('SIGSTOP');
    try {
      await writeSample(`${dir.path}/after-hang.bin`, 2 ** 20, 'dashboard-hung');
      const p = await cli('publish', `${dir.path}/after-hang.bin`, '--criteria', 'region=eu', '--json');
      assert.equal(p.code, 0, p.stderr);
      const id = lastJson<{ contentId: string }>(p.stdout).contentId;
      // The control tree drops a node that sends no heartbeats; status takes its liveness from the tree.
      await shown('the status API to name eu-b offline', async () => {
        const st = await status(id);
        if (st.convergence.stuck.some((s) => s.name === 'eu-b' && s.reason === 'offline')) return true;
        // Not yet: what the root sees goes into the timeout's message.
        const tree = await (await apiFetch(`${network.root!.api}/api/tree`)).json();
        throw new Error(`stuck ${JSON.stringify(st.convergence.stuck)}; tree ${JSON.stringify(tree)}; eu-b is ${hung.nodeId}`);
      });
      const stuck = row(id).locator('[data-testid=stuck] li[data-node="eu-b"]');
      await shown('the page to name eu-b offline', async () => (await stuck.getAttribute('data-reason', { timeout: 1_000 })) === 'offline');
      assert.match(await stuck.innerText(), /^eu-b offline .*not in the control tree/);
      assert.equal((await status(id)).nodes.find((n) => n.name === 'eu-b')?.online, false);
      assert.equal(await row(id).locator('[data-testid=stuck] li[data-node="eu-a"]').count(), 0, 'the healthy node is not stuck');
      await screenshot(page, 'dashboard-lifecycle-3-hung');
    } finally {
      hung.process.kill('SIGCONT');
    }
  });
});
