/**
 * The demo behind `npm start` / `canopy demo`: start a local network, publish a generated
 * sample with criteria that match about half the nodes, watch it spread, then verify what
 * every node serves: qualified nodes return the exact bytes over HTTP, the others hold
 * nothing and serve nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { CanopyError } from '../core/errors.js';
import { formatBytes } from '../core/sizes.js';
import type { ProgressView } from '../client/progress.js';
import { publishFile } from '../client/publish-file.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../ingest/publisher-key.js';
import type { ContentStatusView as ContentStatus } from '../root/content-status.js';
import { demoAttributes, LocalNetwork, type RunningNode } from './local-network.js';
import { writeSample } from './sample.js';
import { probeBlockAs } from './refusal-probe.js';
import type { ApiClient } from '../client/api-client.js';
import { makeDirs } from '../store/make-dirs.js';

export interface DemoOptions {
  nodes: number;
  size: number;
  dir: string;
  criteria: string;
  basePort: number;
  blockSize?: number;
  timeoutMs: number;
  say: (line: string) => void;
  progress: ProgressView | undefined;
}

export interface DemoResult {
  ok: true;
  nodes: number;
  qualified: number;
  verified: number;
  unqualifiedHolding: number;
  /** Unqualified nodes that asked a holder for a block with their own credentials and were refused. */
  refused: number;
  seconds: number;
  contentId: string;
  urls: { node: string; url: string }[];
}

/** Starts the network and leaves it running; the caller stops it. */
export async function runDemo(options: DemoOptions): Promise<{ network: LocalNetwork; result: DemoResult }> {
  rmSync(options.dir, { recursive: true, force: true });
  makeDirs(options.dir);
  // The demo publishes with the default key of whoever started it ($CANOPY_KEY, else
  // $XDG_CONFIG_HOME or ~/.config/canopy/publisher-key.json, created if absent), which its
  // root authorises at start: the README's next step, `npx canopy publish`, uses that key too.
  const network = new LocalNetwork(options.dir, options.basePort);
  try {
    const sample = path.join(options.dir, `sample-${options.size}.bin`);
    options.say(`starting a root and ${options.nodes} nodes under ${options.dir}`);
    // One FTP account for every demo node, so its FTP edge can be tried (lftp, curl, a file manager).
    const ftp = demoFtpAccount(options.dir);
    await network.start(Array.from({ length: options.nodes }, (_, i) => ({ name: `node-${i + 1}`, attrs: demoAttributes(i) })), ['--ftp-users', ftp.file]);
    for (const n of network.nodes) options.say(`  ${network.describe(n)}  api ${n.api}  http ${n.http}  s3 ${n.s3}  ftp ${n.ftp}`);
    options.say(`  FTP login on every node: ${ftp.user} / ${ftp.password} (from ${ftp.file})`);
    options.say(`generating a ${formatBytes(options.size)} sample`);
    const expected = await writeSample(sample, options.size);
    const started = Date.now();
    const key = loadOrCreateKeyFile(defaultKeyPath());
    const published = await publishFile(network.rootApi, sample, { criteria: options.criteria, name: 'sample.bin', blockSize: options.blockSize, key });
    options.say(`published ${published.contentId} (${published.blocks} blocks of ${formatBytes(published.blockSize)}) for "${options.criteria}"`);
    const status = await waitDistributed(network.rootApi, published.contentId, options);
    const seconds = (Date.now() - started) / 1000;
    const result = await verify(network, status, expected, seconds);
    return { network, result };
  } catch (err) {
    await network.stop();
    throw err;
  }
}

function demoFtpAccount(dir: string): { user: string; password: string; file: string } {
  const user = 'demo';
  const password = randomBytes(9).toString('base64url');
  const file = path.join(dir, 'ftp-users');
  writeFileSync(file, `${user}:${password}\n`, { mode: 0o600 });
  return { user, password, file };
}

async function waitDistributed(api: ApiClient, contentId: string, options: DemoOptions): Promise<ContentStatus> {
  const deadline = Date.now() + options.timeoutMs;
  while (true) {
    const status = await api.get<ContentStatus>(`/api/contents/${contentId}/status`);
    const qualified = status.nodes.filter((n) => n.qualified);
    options.progress?.update(qualified.map((n) => ({ label: n.name, done: n.haveBytes, total: status.storedBytes ?? status.size, note: n.complete ? 'done' : '' })));
    if (qualified.every((n) => n.complete)) return status;
    if (Date.now() > deadline) {
      const stuck = qualified.filter((n) => !n.complete).map((n) => `${n.name} has ${formatBytes(n.haveBytes)}`);
      throw new CanopyError('ERR_DISTRIBUTION_FAILED', `distribution did not finish within ${options.timeoutMs / 1000} s: ${stuck.join(', ')}`);
    }
    await sleep(250);
  }
}

async function httpSha256(url: string): Promise<{ status: number; sha256: string }> {
  const res = await request(url);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk as Buffer);
  return { status: res.statusCode, sha256: hash.digest('hex') };
}

async function verify(network: LocalNetwork, status: ContentStatus, expected: string, seconds: number): Promise<DemoResult> {
  const byId = new Map<string, RunningNode>(network.nodes.map((n) => [n.nodeId, n]));
  let verified = 0;
  let unqualifiedHolding = 0;
  let refused = 0;
  const holder = network.nodes.find((n) => status.nodes.some((s) => s.nodeId === n.nodeId && s.complete));
  const urls: DemoResult['urls'] = [];
  for (const n of status.nodes) {
    const node = byId.get(n.nodeId);
    if (!node) continue;
    const url = `${node.http}/content/${status.contentId}/${encodeURIComponent(status.name)}`;
    const local = await network.api(node).get<{ local?: { haveBlocks: number } }>(`/api/contents/${status.contentId}`).catch(() => ({ local: { haveBlocks: 0 } }));
    if (n.qualified) {
      const got = await httpSha256(url);
      if (got.status !== 200 || got.sha256 !== expected) throw new CanopyError('ERR_DISTRIBUTION_FAILED', `${n.name} served status ${got.status} with SHA-256 ${got.sha256.slice(0, 16)}, expected ${expected.slice(0, 16)}`);
      verified++;
      urls.push({ node: n.name, url });
    } else {
      const got = await request(url);
      await got.body.dump();
      if ((local.local?.haveBlocks ?? 0) > 0 || got.statusCode === 200) unqualifiedHolding++;
      if (holder) {
        const answer = await probeBlockAs(node.dataDir, holder.peer, status.contentId);
        if (answer !== 'ERR_NOT_AUTHORISED') throw new CanopyError('ERR_DISTRIBUTION_FAILED', `${holder.name} answered ${answer} when ${n.name} asked for a block it may not hold`);
        refused++;
      }
    }
  }
  const qualified = status.nodes.filter((n) => n.qualified).length;
  if (unqualifiedHolding > 0) throw new CanopyError('ERR_DISTRIBUTION_FAILED', `${unqualifiedHolding} unqualified node(s) hold or serve the content`);
  return { ok: true, nodes: status.nodes.length, qualified, verified, unqualifiedHolding, refused, seconds: Math.round(seconds * 100) / 100, contentId: status.contentId, urls };
}
