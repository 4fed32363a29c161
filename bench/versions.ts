/**
 * What a new version really moves: publish a file (default 1 GiB), insert 1 MiB near its
 * start (at 10 MiB + 12345), republish under the same name, and report the bytes each node
 * fetched for the new version against its size. Content-defined chunking (FastCDC) runs side
 * by side with fixed-size blocks (the baseline), each on a fresh local network of real node
 * processes. Goal: movedFraction <= 2 % per node with CDC. A second yardstick, when rsync is
 * installed: the bytes rsync's delta transfer sends to update a copy of v1 into v2.
 * Options: --size 1GiB --nodes 2 --insert 1MiB --at 10MiB --block-size 4MiB
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { publishFile } from '../src/client/publish-file.js';
import { loadOrCreateKeyFile } from '../src/ingest/publisher-key.js';
import type { ContentStatus } from '../src/cli/commands/status.js';
import { LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { log, option, round, sizeOption, timed } from './_util.js';

/** Writes `src` with `insert` random bytes put in at offset `at`, streaming. */
async function writeEdited(src: string, dst: string, at: number, insert: number): Promise<void> {
  const out = createWriteStream(dst);
  await pipeline(createReadStream(src, { end: at - 1 }), out, { end: false });
  if (!out.write(randomBytes(insert))) await once(out, 'drain');
  await pipeline(createReadStream(src, { start: at }), out);
}

async function converged(network: LocalNetwork, contentId: string): Promise<ContentStatus> {
  for (;;) {
    const s = await network.rootApi.get<ContentStatus>(`/api/contents/${contentId}/status`);
    if (s.convergence.converged) return s;
    await sleep(200);
  }
}

async function runMethod(method: 'fixed' | 'cdc', files: { v1: string; v2: string }, dir: string, nodes: number, blockSize: number) {
  const network = new LocalNetwork(path.join(dir, `net-${method}`), 0, path.join(dir, 'publisher-key.json'));
  try {
    await network.start(Array.from({ length: nodes }, (_, i) => ({ name: `node${i + 1}`, attrs: { region: 'eu' } })));
    const key = loadOrCreateKeyFile(path.join(dir, 'publisher-key.json'));
    const publish = (file: string) => publishFile(network.rootApi, file, { criteria: 'region=eu', name: 'build.img', chunking: method, blockSize, key });
    log(`${method}: publishing v1`);
    const first = await timed(async () => converged(network, (await publish(files.v1)).contentId));
    log(`${method}: v1 on ${nodes} nodes in ${round(first.seconds, 1)} s; publishing v2`);
    const second = await timed(async () => converged(network, (await publish(files.v2)).contentId));
    const s = second.value;
    const moved = s.nodes.filter((n) => n.qualified).map((n) => n.fetchedBytes);
    log(`${method}: v2 moved ${moved.join(', ')} bytes per node (size ${s.size}), changed ${s.changedBytes}`);
    return {
      blocks: s.blocks,
      meanBlockBytes: Math.round(s.size / s.blocks),
      changedBytes: s.changedBytes,
      movedBytesPerNode: moved,
      movedFractionMax: round(Math.max(...moved) / s.size, 5),
      v1Seconds: round(first.seconds, 2),
      v2Seconds: round(second.seconds, 2),
    };
  } finally {
    await network.stop();
    rmSync(path.join(dir, `net-${method}`), { recursive: true, force: true });
  }
}

/** Bytes rsync (delta algorithm forced, as between hosts) sends to turn a copy of v1 into v2; null without rsync. */
function rsyncBytes(files: { v1: string; v2: string }, dir: string): { sentBytes: number; literalBytes: number } | null {
  const dest = path.join(dir, 'rsync');
  mkdirSync(dest);
  try {
    copyFileSync(files.v1, path.join(dest, 'build.img'));
    const r = spawnSync('rsync', ['--no-whole-file', '--stats', files.v2, path.join(dest, 'build.img')], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return null;
    const num = (label: string) => Number(new RegExp(`${label}: ([\\d,]+)`).exec(r.stdout)?.[1]?.replace(/,/g, '') ?? NaN);
    return { sentBytes: num('Total bytes sent'), literalBytes: num('Literal data') };
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const nodes = Number(option(args, 'nodes', '2'));
  const insert = sizeOption(args, 'insert', '1MiB');
  const at = sizeOption(args, 'at', '10MiB') + 12345;
  const blockSize = sizeOption(args, 'block-size', '4MiB');
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-9-'));
  try {
    const files = { v1: path.join(dir, 'v1.img'), v2: path.join(dir, 'v2.img') };
    log(`writing a ${size}-byte file and a copy with ${insert} bytes inserted at ${at}`);
    await writeSample(files.v1, size, 'versions-bench');
    await writeEdited(files.v1, files.v2, at, insert);
    const cdc = await runMethod('cdc', files, dir, nodes, blockSize);
    const fixed = await runMethod('fixed', files, dir, nodes, blockSize);
    log('rsync: delta transfer of the same edit');
    const rsync = rsyncBytes(files, dir);
    return {
      bytes: size,
      nodes,
      insertBytes: insert,
      insertAt: at,
      blockSize,
      cdc,
      fixed,
      rsync: rsync && { ...rsync, sentFraction: round(rsync.sentBytes / (size + insert), 5) },
      goalMovedFraction: 0.02,
      cdcMeetsGoal: cdc.movedFractionMax <= 0.02,
      movedRatioFixedOverCdc: round(Math.max(...fixed.movedBytesPerNode) / Math.max(1, ...cdc.movedBytesPerNode), 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
