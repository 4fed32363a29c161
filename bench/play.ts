/**
 * Play while downloading: a ~200 MiB H.264 MP4 with its moov at the end, and the same as
 * MPEG-TS, are published at the root; an edge node that holds none of them serves them to
 * ffmpeg over HTTP at once, (a) while it downloads in the background and (b) with
 * --no-prefetch, fetching only what ffmpeg reads. Reports time to first byte, whether the
 * decode ran to the end without error, and whether a player that started at the first
 * frame would ever have waited (decoded media time falling behind wall-clock time).
 * Options: --size 200MiB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LocalNetwork, RunningNode } from '../src/demo/local-network.js';
import { runCommand } from '../test/helpers/cli.js';
import { holding, publish, startNetwork } from '../test/helpers/edge-network.js';
import { log, round, sizeOption } from './_util.js';

const BITRATE = 30e6;

async function makeVideo(dir: string, size: number): Promise<{ mp4: string; ts: string }> {
  const mp4 = path.join(dir, 'film.mp4');
  const ts = path.join(dir, 'film.ts');
  const seconds = Math.ceil((size * 8) / BITRATE);
  log(`encoding ${seconds} s of noisy 640x360 H.264 at ${BITRATE / 1e6} Mbit/s`);
  const enc = await runCommand('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30,noise=alls=60:allf=t', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', String(BITRATE), '-maxrate', String(BITRATE), '-bufsize', String(2 * BITRATE), '-g', '60', '-pix_fmt', 'yuv420p', mp4], { timeoutMs: 1_800_000 });
  if (enc.code !== 0) throw new Error(enc.stderr);
  const remux = await runCommand('ffmpeg', ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', ts]);
  if (remux.code !== 0) throw new Error(remux.stderr);
  return { mp4, ts };
}

interface PlayResult {
  ok: boolean;
  errors: string;
  ttfbSeconds: number;
  seconds: number;
  mediaSeconds: number;
  /** Largest amount by which a real-time player started at the first frame would have run dry. */
  maxWaitSeconds: number;
  waited: boolean;
  blocksHeldBefore: number;
}

/** Decodes a URL with ffmpeg, sampling its progress to see whether decoding ever fell behind real time. */
async function play(url: string): Promise<Omit<PlayResult, 'ttfbSeconds' | 'blocksHeldBefore'>> {
  const t0 = performance.now();
  const child = spawn('ffmpeg', ['-v', 'error', '-nostdin', '-i', url, '-map', '0:v:0', '-f', 'null', '-progress', 'pipe:1', '-stats_period', '0.2', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  let firstFrameAt: number | undefined;
  let maxWait = 0;
  let mediaSeconds = 0;
  child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const m = /^out_time_us=(\d+)/.exec(line);
      if (!m) continue;
      const media = Number(m[1]) / 1e6;
      const now = (performance.now() - t0) / 1000;
      if (media > 0 && firstFrameAt === undefined) firstFrameAt = now;
      if (firstFrameAt !== undefined) maxWait = Math.max(maxWait, now - firstFrameAt - media);
      mediaSeconds = media;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { ok: code === 0 && errors.trim() === '', errors: errors.trim().slice(0, 500), seconds: round((performance.now() - t0) / 1000), mediaSeconds: round(mediaSeconds), maxWaitSeconds: round(Math.max(0, maxWait)), waited: maxWait > 0.05 };
}

async function ttfb(url: string): Promise<number> {
  const r = await runCommand('curl', ['-sS', '-o', '/dev/null', '-r', '0-65535', '-w', '%{time_starttransfer}', url]);
  return round(Number(r.stdout));
}

async function scenario(network: LocalNetwork, node: RunningNode, file: string, label: string): Promise<PlayResult> {
  const id = await publish(network, file, ['--criteria', `name=${node.name}`]);
  const url = `${node.http}/content/${id}/${path.basename(file)}`;
  const blocksHeldBefore = (await holding(node, id)).haveBlocks;
  const first = await ttfb(url);
  const result = await play(url);
  log(`${label}: ${JSON.stringify(result)}`);
  return { ...result, ttfbSeconds: first, blocksHeldBefore };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '200MiB');
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-i7-bench-play-'));
  let network: LocalNetwork | undefined;
  try {
    const { mp4, ts } = await makeVideo(dir, size);
    network = await startNetwork(path.join(dir, 'net'), [], [
      { spec: { name: 'mp4-bg', attrs: { name: 'mp4-bg' } }, args: [] },
      { spec: { name: 'ts-bg', attrs: { name: 'ts-bg' } }, args: [] },
      { spec: { name: 'mp4-od', attrs: { name: 'mp4-od' } }, args: ['--no-prefetch'] },
      { spec: { name: 'ts-od', attrs: { name: 'ts-od' } }, args: ['--no-prefetch'] },
    ]);
    const [mp4bg, tsbg, mp4od, tsod] = network.nodes as [RunningNode, RunningNode, RunningNode, RunningNode];
    return {
      mp4Bytes: statSync(mp4).size,
      tsBytes: statSync(ts).size,
      whileDownloading: { mp4: await scenario(network, mp4bg, mp4, 'mp4, background download'), ts: await scenario(network, tsbg, ts, 'ts, background download') },
      onDemandOnly: { mp4: await scenario(network, mp4od, mp4, 'mp4, on demand only'), ts: await scenario(network, tsod, ts, 'ts, on demand only') },
      note: 'loopback, no link shaping; 2 shared cores; waited = a real-time player started at the first frame would have stalled',
    };
  } finally {
    await network?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
