/**
 * The dashboard's versions-and-convergence panel, end to end in Debian's Chromium: two
 * versions of a content published with content-defined chunking and one whose prefetch
 * window is closed; the page shows each version and what it replaces, the all/part/none
 * counts the status API gives, the bytes a version moved, the nodes stuck on the closed
 * window with the reason and detail; a withdrawal shows up without reloading the page; and
 * a hung node (SIGSTOP) is named offline on a content it should hold.
 * Screenshots land in .tmp/screenshots/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Locator, Page } from 'playwright-core';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { ensureWebBuilt, launchChromium, screenshot } from '../helpers/browser.js';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';
import { apiFetch, withToken } from '../helpers/api-fetch.js';

const SIZE = 4 * 2 ** 20;
const DEADLINE_MS = 60_000;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
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

describe('dashboard: versions and convergence', () => {
  const dir = tempDir('canopy-dashboard-');
  const network = new LocalNetwork(`${dir.path}/net`);
  const cli = (...args: string[]) => runCli([...args, '--to', network.root!.api]);
  const status = async (id: string) => (await (await apiFetch(`${network.root!.api}/api/contents/${id}/status`)).json()) as ContentStatus;
  let browser: Browser;
  let page: Page;
  let v1 = '';
  let v2 = '';
  let nightly = '';
  const window = closedWindow();

  before(async () => {
    ensureWebBuilt();
    await network.start([
      { name: 'eu-a', attrs: { region: 'eu' } },
      { name: 'eu-b', attrs: { region: 'eu' } },
      { name: 'us-c', attrs: { region: 'us' } },
    ]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await network.stop();
    dir.remove();
  });

  const row = (id: string): Locator => page.locator(`[data-testid=lifecycle] tr[data-content-id="${id}"]`);

  it('shows each version, the counts the API gives, the bytes moved and the stuck nodes', async () => {
    // Two versions of one build: the second has 100 kB inserted near its start.
    for (const d of ['v1', 'v2']) mkdirSync(`${dir.path}/${d}`);
    await writeSample(`${dir.path}/v1/build.bin`, SIZE, 'dashboard');
    const original = readFileSync(`${dir.path}/v1/build.bin`);
    writeFileSync(`${dir.path}/v2/build.bin`, Buffer.concat([original.subarray(0, 300_001), randomBytes(100_000), original.subarray(300_001)]));
    const publishBuild = async (d: string) => {
      const p = await cli('publish', `${dir.path}/${d}/build.bin`, '--criteria', 'region=eu', '--chunking', 'cdc', '--block-size', '64KiB', '--json');
      assert.equal(p.code, 0, p.stderr);
      const id = lastJson<{ contentId: string }>(p.stdout).contentId;
      const w = await cli('status', id, '--watch', '--json');
      assert.equal(w.code, 0, w.stderr);
      return id;
    };
    v1 = await publishBuild('v1');
    v2 = await publishBuild('v2');
    // A content no node may prefetch now: its window is closed.
    await writeSample(`${dir.path}/nightly.bin`, 2 ** 20, 'dashboard-nightly');
    const p = await cli('publish', `${dir.path}/nightly.bin`, '--criteria', 'region=eu', '--window', window, '--json');
    assert.equal(p.code, 0, p.stderr);
    nightly = lastJson<{ contentId: string }>(p.stdout).contentId;
    await until('both eu nodes to report the closed window', async () => (await status(nightly)).convergence.stuck.filter((s) => s.reason === 'window').length === 2);

    page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(withToken(`${network.root!.api}/`));
    await row(nightly).waitFor({ timeout: DEADLINE_MS });

    // Every row shows the counts the status API gives for its content.
    for (const id of [v1, v2, nightly]) {
      await until(`the page's counts of ${id.slice(0, 8)} to be the API's`, async () => {
        const c = (await status(id)).convergence;
        const shown = await row(id).getByTestId('convergence-counts').innerText();
        return shown === `${c.complete}/${c.qualified} all · ${c.partial} part · ${c.none} none`;
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
  });

  it('shows a withdrawn version as withdrawn, live, without reloading', async () => {
    const w = await cli('withdraw', v2, '--reason', 'bad build', '--json');
    assert.equal(w.code, 0, w.stderr);
    const after = await status(v2);
    assert.equal(after.state, 'withdrawn');
    assert.equal(after.withdrawnReason, 'bad build');
    await until('the page to show v2 withdrawn', async () => (await row(v2).getAttribute('data-state')) === 'withdrawn');
    assert.equal(await row(v2).getByTestId('state').innerText(), 'withdrawn');
    assert.match((await row(v2).getByTestId('state').getAttribute('title')) ?? '', /: bad build$/);
    assert.equal(await row(v1).getByTestId('state').innerText(), 'live');
    assert.equal(await row(v2).getByTestId('eta').count(), 0);
    assert.match(await row(v2).innerText(), /out of service/);
    // Live contents come first, then the page of history (issue 25): find v2's row by its name, not its place.
    assert.match(await page.locator('[data-testid=spread] tr', { hasText: 'build.bin v2' }).innerText(), /build\.bin v2 withdrawn/);
    await screenshot(page, 'dashboard-lifecycle-2-withdrawn');
  });

  it('names a hung node (SIGSTOP) as offline on a content it should hold, without reloading', async () => {
    const hung = network.nodes.find((n) => n.name === 'eu-b')!;
    hung.process.kill('SIGSTOP');
    try {
      await writeSample(`${dir.path}/after-hang.bin`, 2 ** 20, 'dashboard-hung');
      const p = await cli('publish', `${dir.path}/after-hang.bin`, '--criteria', 'region=eu', '--json');
      assert.equal(p.code, 0, p.stderr);
      const id = lastJson<{ contentId: string }>(p.stdout).contentId;
      // The control tree drops a node that sends no heartbeats; status takes its liveness from the tree.
      await until('the status API to name eu-b offline', async () => (await status(id)).convergence.stuck.some((s) => s.name === 'eu-b' && s.reason === 'offline'));
      const stuck = row(id).locator('[data-testid=stuck] li[data-node="eu-b"]');
      await until('the page to name eu-b offline', async () => (await stuck.getAttribute('data-reason', { timeout: 1_000 })) === 'offline');
      assert.match(await stuck.innerText(), /^eu-b offline .*not in the control tree/);
      assert.equal((await status(id)).nodes.find((n) => n.name === 'eu-b')?.online, false);
      assert.equal(await row(id).locator('[data-testid=stuck] li[data-node="eu-a"]').count(), 0, 'the healthy node is not stuck');
      await screenshot(page, 'dashboard-lifecycle-3-hung');
    } finally {
      hung.process.kill('SIGCONT');
    }
  });
});
