/**
 * Publishing from the browser, measured: Debian's Chromium picks a file on the publishing
 * page, hashes it in a worker, announces it and uploads it with tus to a root with two
 * qualified nodes. Reported: hashing rate against `openssl dgst -sha256` of the same file,
 * upload time against `canopy publish` (the CLI streaming the same bytes to the same root),
 * when the first block reached a qualified node compared with when the upload ended, and
 * the peak memory of the browser's processes and of the root (flat memory: it must not grow
 * with the file). Options: --size 1GiB --chunk 64MiB.
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { publishFile } from '../src/client/publish-file.js';
import { loadOrCreateKeyFile } from '../src/ingest/publisher-key.js';
import { ApiClient } from '../src/client/api-client.js';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { CHROMIUM, ensureWebBuilt } from '../test/helpers/browser.js';
import { log, mbps, round, sizeOption, timed, timedCommand } from './_util.js';
import { apiFetch, withToken } from '../test/helpers/api-fetch.js';

interface Spread {
  nodes: { qualified: boolean; haveBytes: number; complete: boolean }[];
}

/** Resident memory (kB) of a process and all its descendants (one pass over /proc). */
function treeRssKb(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let kb = 0;
  for (const queue = [rootPid]; queue.length > 0; ) {
    const pid = queue.pop()!;
    queue.push(...(children.get(pid) ?? []));
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Gone.
    }
  }
  return kb;
}

function findBrowserPid(marker: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) return Number(d);
    } catch {
      // Gone.
    }
  }
  return undefined;
}

function peakRssKb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const chunk = sizeOption(args, 'chunk', '64MiB');
  ensureWebBuilt();
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-i8-bench-'));
  const network = new LocalNetwork(path.join(dir, 'net'), 0, path.join(dir, 'publisher-key.json'));
  const marker = `--canopy-bench-${process.pid}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', marker] });
  try {
    await network.start([
      { name: 'eu-1', attrs: { region: 'eu' } },
      { name: 'eu-2', attrs: { region: 'eu' } },
    ]);
    const file = path.join(dir, 'payload.bin');
    await writeSample(file, size, 'bench-browser');
    const api = network.root!.api;
    const opensslSeconds = timedCommand('openssl', ['dgst', '-sha256', file]);
    const browserPid = findBrowserPid(marker);

    const page = await browser.newPage();
    await page.goto(withToken(`${api}/publish?chunk=${chunk}`));
    await page.getByTestId('file-input').setInputFiles(file);
    await page.getByTestId('criteria').fill('region=eu');
    await page.getByTestId('match-count').waitFor();
    // Idle is the page loaded with the file picked: what follows is the cost of publishing.
    const baselineKb = browserPid ? treeRssKb(browserPid) : 0;
    let peakBrowserKb = baselineKb;
    let peakHashKb = baselineKb;
    log(`publishing ${size} bytes from Chromium`);
    const t0 = Date.now();
    await page.getByTestId('publish').click();
    let hashedAt = 0;
    let uploadedAt = 0;
    let firstBlockAt = 0;
    let completeAt = 0;
    let contentId = '';
    let lastSample = 0;
    while (!completeAt) {
      if (browserPid && Date.now() - lastSample >= 1000) {
        lastSample = Date.now();
        const kb = treeRssKb(browserPid);
        peakBrowserKb = Math.max(peakBrowserKb, kb);
        if (!hashedAt) peakHashKb = Math.max(peakHashKb, kb);
      }
      const phase = await page.getByTestId('phase').getAttribute('data-phase');
      if (phase === 'error') throw new Error(await page.getByTestId('phase').innerText());
      if (!hashedAt && phase !== 'hashing' && phase !== 'idle') hashedAt = Date.now();
      if (!uploadedAt && phase === 'done') uploadedAt = Date.now();
      contentId ||= (await page.getByTestId('content-id').getAttribute('data-content-id', { timeout: 50 }).catch(() => null)) ?? '';
      if (contentId) {
        const s = (await (await apiFetch(`${api}/api/contents/${contentId}/status`)).json()) as Spread;
        if (!firstBlockAt && s.nodes.some((n) => n.haveBytes > 0)) firstBlockAt = Date.now();
        if (uploadedAt && s.nodes.every((n) => n.complete)) completeAt = Date.now();
      }
      if (Date.now() - t0 > 1_800_000) throw new Error('timed out');
      await sleep(250);
    }
    const rootPeakKb = peakRssKb(network.root!.process.pid!);
    const hashSeconds = (hashedAt - t0) / 1000;
    const uploadSeconds = (uploadedAt - hashedAt) / 1000;
    // Baseline: the CLI streaming a file of the same size (other bytes, so no block is
    // already held) to the same root, then the same nodes fetching it after the upload.
    const other = path.join(dir, 'other.bin');
    await writeSample(other, size, 'bench-cli');
    const c0 = Date.now();
    const cli = await timed(() => publishFile(new ApiClient(api), other, { criteria: 'region=eu', name: 'cli-copy.bin', key: loadOrCreateKeyFile(path.join(dir, 'publisher-key.json')) }));
    for (;;) {
      const s = (await (await apiFetch(`${api}/api/contents/${cli.value.contentId}/status`)).json()) as Spread;
      if (s.nodes.every((n) => n.complete)) break;
      await sleep(100);
    }
    const cliAllComplete = (Date.now() - c0) / 1000;
    return {
      bytes: size,
      browserHashSeconds: round(hashSeconds),
      browserHashMBps: mbps(size, hashSeconds),
      opensslSha256Seconds: round(opensslSeconds),
      hashRatioVsOpenssl: round(hashSeconds / opensslSeconds),
      browserUploadSeconds: round(uploadSeconds),
      browserUploadMBps: mbps(size, uploadSeconds),
      cliPublishSeconds: round(cli.seconds),
      uploadRatioVsCli: round(uploadSeconds / cli.seconds),
      cliAllCompleteSeconds: round(cliAllComplete),
      endToEndRatioVsCli: round((completeAt - t0) / 1000 / cliAllComplete),
      firstBlockAtNodeAfterClickSeconds: round((firstBlockAt - t0) / 1000),
      uploadDoneAfterClickSeconds: round((uploadedAt - t0) / 1000),
      allCompleteAfterClickSeconds: round((completeAt - t0) / 1000),
      browserPeakRssMiBAbovePageIdle: round((peakBrowserKb - baselineKb) / 1024, 1),
      browserPeakRssMiBAbovePageIdleWhileHashing: round((peakHashKb - baselineKb) / 1024, 1),
      browserPageIdleRssMiB: round(baselineKb / 1024, 1),
      rootPeakRssMiB: round(rootPeakKb / 1024, 1),
      note: 'shared 2-core machine: absolute figures are noisy, ratios hold better',
    };
  } finally {
    await browser.close();
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
