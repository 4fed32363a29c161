/**
 * Publishing from the browser, end to end, in Debian's Chromium: the dashboard shows the
 * tree; the publishing page hashes a file in a worker, shows live how many nodes the
 * criteria select, announces and uploads it with tus; the upload survives a dropped
 * connection and a closed tab; qualified nodes fetch blocks before the upload has ended;
 * the dashboard shows the content spread; the bytes served are the bytes picked.
 * Screenshots land in .tmp/screenshots/.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { ensureWebBuilt, launchChromium, screenshot } from '../helpers/browser.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { apiFetch, withToken } from '../helpers/api-fetch.js';

const SIZE = 12 * 2 ** 20 + 12345;
const BLOCK = 256 * 2 ** 10;
const CHUNK = 256 * 2 ** 10;
const DEADLINE_MS = 60_000;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Slows every tus PATCH and drops the connection of the fifth, as a flaky network would. */
async function throttleUploads(page: Page): Promise<{ patches: () => number; dropped: () => number }> {
  let patches = 0;
  let dropped = 0;
  await page.route('**/api/uploads/**', async (route) => {
    if (route.request().method() !== 'PATCH') return route.continue();
    patches++;
    await sleep(120);
    if (patches === 5) {
      dropped++;
      return route.abort('connectionreset');
    }
    return route.continue().catch(() => undefined);
  });
  return { patches: () => patches, dropped: () => dropped };
}

describe('publishing from the browser', () => {
  const dir = tempDir('canopy-i8-browser-');
  const network = new LocalNetwork(`${dir.path}/net`);
  let browser: Browser;
  let file = '';
  let sha = '';

  before(async () => {
    ensureWebBuilt();
    await network.start(
      [
        { name: 'eu-edge', attrs: { region: 'eu', tier: 'edge' } },
        { name: 'eu-hub', attrs: { region: 'eu', tier: 'hub' } },
        { name: 'us-edge', attrs: { region: 'us', tier: 'edge' } },
      ],
      ['--block-size', String(BLOCK)],
    );
    file = `${dir.path}/master.bin`;
    sha = await writeSample(file, SIZE, 'browser');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await network.stop();
    dir.remove();
  });

  it('shows the tree, publishes with a resumable upload, and the content spreads to qualified nodes', async () => {
    const api = network.root!.api;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

    // The dashboard draws the root and its three members.
    const dash = await context.newPage();
    await dash.goto(withToken(`${api}/`));
    await dash.locator('svg.tree g.tree-node').nth(3).waitFor();
    assert.equal(await dash.locator('svg.tree g.tree-node').count(), 4);
    assert.deepEqual((await dash.locator('svg.tree g.tree-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')))).sort(), ['eu-edge', 'eu-hub', 'root', 'us-edge']);
    assert.equal(await dash.getByTestId('rollup').first().textContent(), 'rollup: region=eu|us tier=edge|hub');
    await screenshot(dash, '1-dashboard-empty');

    // The publishing page: pick the file, type criteria and watch the live match count.
    const page = await context.newPage();
    const net = await throttleUploads(page);
    await page.goto(withToken(`${api}/publish?chunk=${CHUNK}`));
    await page.getByTestId('file-input').setInputFiles(file);
    await page.getByTestId('criteria').fill('region=eu &');
    await page.getByTestId('criteria-error').waitFor();
    assert.match(await page.getByTestId('criteria-error').innerText(), /position 11/);
    await page.getByTestId('criteria').fill('region=eu');
    await until('the match count', async () => /2\s+of 3 nodes match/.test(await page.getByTestId('match-count').innerText().catch(() => '')));
    await screenshot(page, '2-publish-criteria');
    await page.getByTestId('publish').click();
    const contentId = await until('the announced content id', async () => page.getByTestId('content-id').getAttribute('data-content-id', { timeout: 100 }).catch(() => null));
    assert.match(await page.getByTestId('analysis').innerText(), /generic · application\/octet-stream · linear/);

    // Let part of it arrive (one connection is dropped on the way), then close the tab.
    await until('a third of the upload', async () => {
      const { uploads } = await (await apiFetch(`${api}/api/publish/uploads`)).json() as { uploads: { contentId: string; verifiedBytes: number }[] };
      return (uploads.find((u) => u.contentId === contentId)?.verifiedBytes ?? 0) > SIZE / 3;
    });
    assert.ok(net.dropped() >= 1, 'a connection was dropped and the upload went on');
    await screenshot(page, '3-publish-uploading');
    await page.close();

    // The origin holds only part of it, and a qualified node is already fetching from it.
    const status = async () => (await (await apiFetch(`${api}/api/contents/${contentId}/status`)).json()) as ContentStatus;
    const early = await until('a qualified node holding part of the content', async () => {
      const s = await status();
      return s.nodes.find((n) => n.qualified && n.haveBytes > 0) ? s : undefined;
    });
    const { uploads } = (await (await apiFetch(`${api}/api/publish/uploads`)).json()) as { uploads: { contentId: string; verifiedBytes: number; complete: boolean }[] };
    const origin = uploads.find((u) => u.contentId === contentId)!;
    assert.equal(origin.complete, false);
    assert.ok(origin.verifiedBytes < SIZE, 'the upload had not finished');
    assert.ok(early.nodes.every((n) => !n.complete), 'no node can be complete before the upload is');
    await dash.bringToFront();
    await sleep(1500);
    await screenshot(dash, '4-dashboard-partial');

    // A new tab, the same file: the upload resumes where the origin's copy ends.
    const again = await context.newPage();
    await throttleUploads(again);
    await again.goto(withToken(`${api}/publish?chunk=${CHUNK}`));
    await again.getByTestId('file-input').setInputFiles(file);
    await again.getByTestId('criteria').fill('region=eu');
    await again.getByTestId('publish').click();
    await again.getByTestId('resumed').waitFor();
    const resumedAt = Number((await again.getByTestId('resumed').innerText()).match(/([\d.]+) MiB/)?.[1]);
    assert.ok(resumedAt * 2 ** 20 >= SIZE / 3, `resumed at ${resumedAt} MiB, not from the start`);
    assert.equal(await again.getByTestId('content-id').getAttribute('data-content-id'), contentId, 'the same content, not a new one');
    // Pause and resume by hand.
    await again.locator('[data-testid=phase][data-phase=uploading]').waitFor();
    await again.getByTestId('pause').click();
    await again.locator('[data-testid=phase][data-phase=paused]').waitFor();
    await again.getByTestId('resume').click();
    await again.locator('[data-testid=phase][data-phase=done]').waitFor({ timeout: DEADLINE_MS });
    await until('the page to show both eu nodes complete', async () => /2\/2 nodes complete/.test(await again.getByTestId('spread-line').innerText().catch(() => '')));
    await screenshot(again, '5-publish-done');

    // Both eu nodes complete; the us node holds nothing; the dashboard shows it.
    const done = await until('both eu nodes complete', async () => {
      const s = await status();
      return s.nodes.filter((n) => n.qualified && n.complete).length === 2 ? s : undefined;
    });
    assert.equal(done.nodes.find((n) => n.name === 'us-edge')!.haveBytes, 0);
    await dash.bringToFront();
    await until('the dashboard to show 2/2', async () => (await dash.getByTestId('complete-count').first().innerText()) === '2/2');
    assert.equal(await dash.locator('td.cell[data-node=us-edge]').first().innerText(), '–');
    await screenshot(dash, '6-dashboard-spread');

    // The bytes served by a node are the bytes picked in the browser.
    const edge = network.nodes.find((n) => n.name === 'eu-hub')!;
    const curl = await runCommand('curl', ['-sf', `${edge.http}/content/${contentId}`, '-o', `${dir.path}/fetched.bin`]);
    assert.equal(curl.code, 0, curl.stderr);
    const { createReadStream } = await import('node:fs');
    const h = createHash('sha256');
    for await (const c of createReadStream(`${dir.path}/fetched.bin`)) h.update(c as Buffer);
    assert.equal(h.digest('hex'), sha);
    await context.close();
  });

  it('analyses a real MP4 in the page: its index after the media makes it non-linear', async () => {
    const mp4 = `${dir.path}/clip.mp4`;
    // ffmpeg writes the moov box at the end unless told to move it (faststart).
    const ff = await runCommand('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=160x120:rate=10', '-pix_fmt', 'yuv420p', '-y', mp4]);
    assert.equal(ff.code, 0, ff.stderr);
    const page = await browser.newPage();
    await page.goto(withToken(`${network.root!.api}/publish`));
    await page.getByTestId('file-input').setInputFiles(mp4);
    await page.getByTestId('criteria').fill('tier=edge');
    await until('the match count', async () => /2\s+of 3 nodes match/.test(await page.getByTestId('match-count').innerText().catch(() => '')));
    await page.getByTestId('publish').click();
    await page.locator('[data-testid=phase][data-phase=done]').waitFor({ timeout: DEADLINE_MS });
    assert.match(await page.getByTestId('analysis').innerText(), /mp4 · video\/mp4 · not linear · moov at \d+, mdat at \d+/);
    const contentId = await page.getByTestId('content-id').getAttribute('data-content-id');
    const manifest = (await (await apiFetch(`${network.root!.api}/api/contents/${contentId}/manifest`)).json()) as { mediaType: string };
    assert.equal(manifest.mediaType, 'video/mp4');
    await screenshot(page, '7-publish-mp4');
    await page.close();
  });

  it('accepts a file dropped on the page', async () => {
    const page = await browser.newPage();
    await page.goto(withToken(`${network.root!.api}/publish`));
    const drop = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(5000).fill(7)], 'dropped.bin', { type: 'application/octet-stream' }));
      return dt;
    });
    await page.locator('.dropzone').dispatchEvent('drop', { dataTransfer: drop });
    assert.equal(await page.getByTestId('name').inputValue(), 'dropped.bin');
    await page.getByTestId('publish').click();
    await page.locator('[data-testid=phase][data-phase=done]').waitFor({ timeout: DEADLINE_MS });
    const contentId = await page.getByTestId('content-id').getAttribute('data-content-id');
    const manifest = (await (await apiFetch(`${network.root!.api}/api/contents/${contentId}/manifest`)).json()) as { size: number; name: string };
    assert.deepEqual([manifest.name, manifest.size], ['dropped.bin', 5000]);
    await page.close();
  });
});
