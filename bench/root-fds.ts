/**
 * Hunting the root's descriptor growth (issue 25, item 1) with what the soak does not drive:
 * the dashboard open in Chromium (it polls the API), publishes through the web page (tus
 * uploads), `canopy status` and `canopy top` run again and again, and withdrawals. Every
 * Clients that vanish mid-conversation too: `canopy status --watch` and `canopy top` killed
 * with SIGKILL while they poll, and FTP control connections cut right after PASV/EPSV or
 * during login. Every
 * `--sample-every` the root's /proc/PID/fd is listed by kind (socket, pipe, anon_inode, files
 * by directory); the result is the first and last listing, the least-squares slope of the
 * total, and which kinds grew. Baseline: the same root's own listing before the churn.
 * Options: --minutes 8 --sample-every 10s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { parseDuration } from '../src/core/expiry.js';
import { cliCommand, LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { launchChromium, ensureWebBuilt } from '../test/helpers/browser.js';
import { withToken } from '../test/helpers/api-fetch.js';
import { runCli } from '../test/helpers/cli.js';
import { log, option } from './_util.js';
import { slopePerHour } from './_soak-probes.js';

/** Open descriptors of a process by kind: `socket`, `pipe`, `anon_inode:[eventfd]`, or a file's directory. */
export function descriptorKinds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const kind = target.startsWith('socket:') ? 'socket' : target.startsWith('pipe:') ? 'pipe' : target.startsWith('anon_inode:') ? target : path.dirname(target);
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/** Starts a live view (`status ID --watch` or `top`) and kills it with SIGKILL a few seconds after its first frame. */
async function killedLiveView(api: string, id: string | undefined): Promise<void> {
  const { command, args } = cliCommand();
  const view = id ? ['status', id, '--watch', '--interval', '500'] : ['top', '--interval', '500'];
  const child = spawn(command, [...args, ...view, '--to', api], { stdio: ['ignore', 'pipe', 'ignore'] });
  await Promise.race([new Promise((resolve) => child.stdout.once('data', resolve)), sleep(30_000)]);
  child.stdout.resume();
  await sleep(1_000 + Math.random() * 3_000);
  child.kill('SIGKILL');
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));
}

/** An FTP control connection that sends a few commands (PASV or EPSV last) and is cut at once, or half-closed. */
async function ftpHangUp(ftpUrl: string, n: number): Promise<void> {
  const { hostname, port } = new URL(ftpUrl);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('data', resolve));
  socket.write(`USER anonymous\r\nPASS x\r\n${n % 2 ? 'EPSV' : 'PASV'}\r\nLIST\r\n`);
  await sleep(n % 3 === 0 ? 0 : 200);
  if (n % 2) socket.destroy();
  else socket.end();
  await new Promise((resolve) => (socket.closed ? resolve(undefined) : socket.once('close', resolve)));
}

const total = (k: Record<string, number>) => Object.values(k).reduce((a, b) => a + b, 0);

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const minutes = Number(option(args, 'minutes', '8'));
  const sampleEvery = parseDuration(option(args, 'sample-every', '10s'));
  process.env.CANOPY_READY_TIMEOUT_MS ??= '120000';
  // The root and the CLI as shipped (npm run bench builds dist): a CLI under tsx takes seconds to start.
  process.env.CANOPY_CLI ??= 'dist';
  ensureWebBuilt();
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-root-fds-'));
  const network = new LocalNetwork(path.join(dir, 'net'));
  const browser = await launchChromium();
  try {
    await network.start([
      { name: 'eu-a', attrs: { region: 'eu' } },
      { name: 'eu-b', attrs: { region: 'eu' } },
    ]);
    const root = network.root!;
    const api = root.api;
    const pid = root.process.pid!;
    await sleep(6_000);
    const baseline = descriptorKinds(pid);
    const samples: { t: number; kinds: Record<string, number> }[] = [];
    const t0 = Date.now();
    const end = t0 + minutes * 60_000;
    const counts = { webPublishes: 0, cliPolls: 0, killedLiveViews: 0, ftpHangUps: 0, withdrawals: 0, errors: 0 };
    const published: string[] = [];
    const context = await browser.newContext();
    // Two dashboards left open, as an operator's tabs: they poll the API by themselves.
    for (let i = 0; i < 2; i++) await (await context.newPage()).goto(withToken(`${api}/`));
    const publishPage: Page = await context.newPage();
    const loops = [
      (async () => {
        for (let n = 0; Date.now() < end; n++) {
          try {
            const file = path.join(dir, `web-${n}.bin`);
            await writeSample(file, (1 + (n % 4)) * 2 ** 20, `root-fds-${n}`);
            await publishPage.goto(withToken(`${api}/publish`));
            await publishPage.getByTestId('file-input').setInputFiles(file);
            await publishPage.getByTestId('criteria').fill('region=eu');
            await publishPage.getByTestId('publish').click();
            const id = await publishPage.getByTestId('content-id').getAttribute('data-content-id', { timeout: 60_000 });
            if (id) published.push(id);
            counts.webPublishes++;
            rmSync(file, { force: true });
          } catch (err) {
            counts.errors++;
            log(`web publish: ${(err as Error).message.split('\n')[0]}`);
          }
          while (published.length > 4) {
            const id = published.shift()!;
            const r = await runCli(['withdraw', id, '--to', api, '--json']);
            if (r.code === 0) counts.withdrawals++;
            else counts.errors++;
          }
          await sleep(3_000);
        }
      })(),
      (async () => {
        while (Date.now() < end) {
          const id = published[published.length - 1];
          for (const cmd of [['top', '--once'], ...(id ? [['status', id]] : []), ['ls'], ['nodes', 'list']]) {
            const r = await runCli([...cmd, '--to', api]);
            counts.cliPolls++;
            if (r.code !== 0) counts.errors++;
          }
          await sleep(2_000);
        }
      })(),
      (async () => {
        for (let n = 0; Date.now() < end; n++) {
          await killedLiveView(api, published[published.length - 1]).catch(() => counts.errors++);
          counts.killedLiveViews++;
          for (let k = 0; k < 5; k++) {
            await ftpHangUp(root.ftp, n * 5 + k).catch(() => counts.errors++);
            counts.ftpHangUps++;
          }
        }
      })(),
      (async () => {
        while (Date.now() < end) {
          samples.push({ t: Date.now() - t0, kinds: descriptorKinds(pid) });
          await sleep(sampleEvery);
        }
      })(),
    ];
    await Promise.all(loops);
    await context.close();
    // After the keep-alive timeout (5 s), idle client connections are gone.
    await sleep(7_000);
    const last = descriptorKinds(pid);
    const grew = Object.fromEntries(Object.keys({ ...baseline, ...last }).flatMap((k) => ((last[k] ?? 0) !== (baseline[k] ?? 0) ? [[k, (last[k] ?? 0) - (baseline[k] ?? 0)]] : [])));
    return {
      minutes,
      ...counts,
      rootFdsBefore: total(baseline),
      rootFdsAfterQuiet: total(last),
      rootFdsMax: Math.max(...samples.map((s) => total(s.kinds))),
      fdsPerHour: slopePerHour(samples.map((s) => ({ t: s.t, y: total(s.kinds) }))),
      before: baseline,
      after: last,
      changedKinds: grew,
    };
  } finally {
    await browser.close().catch(() => undefined);
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
