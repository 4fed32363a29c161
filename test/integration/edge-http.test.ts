/**
 * The HTTP edge over virtual files, with real clients: an edge node that holds nothing
 * (--no-prefetch) serves a moov-at-end MP4 to ffprobe and ffmpeg, multiple ranges to curl
 * and HLS playlists over MPEG-TS and fragmented MP4, fetching blocks from the root as
 * they are read. A node outside the criteria serves nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { holding, publish, startNetwork } from '../helpers/edge-network.js';
import { decode, makeMedia, type MediaFiles } from '../helpers/media.js';

describe('HTTP edge with on-demand blocks', () => {
  const dir = tempDir('canopy-i7-http-');
  let network: LocalNetwork;
  let media: MediaFiles;
  let edge: RunningNode;
  let outsider: RunningNode;
  const ids: Record<string, string> = {};

  before(async () => {
    media = await makeMedia(dir.path);
    network = await startNetwork(`${dir.path}/net`, [], [
      { spec: { name: 'edge', attrs: { region: 'eu' } }, args: ['--no-prefetch'] },
      { spec: { name: 'outsider', attrs: { region: 'us' } }, args: [] },
    ]);
    [edge, outsider] = network.nodes as [RunningNode, RunningNode];
    for (const [key, file] of Object.entries(media)) ids[key] = await publish(network, file, ['--criteria', 'region=eu', '--block-size', '64KiB']);
  });
  after(async () => {
    await network?.stop();
    dir.remove();
  });

  it('plays a moov-at-end MP4 with ffprobe and ffmpeg from a node that held none of it', async () => {
    assert.equal((await holding(edge, ids.mp4!)).haveBlocks, 0);
    const url = `${edge.http}/content/${ids.mp4}/clip.mp4`;
    const probe = await runCommand('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', url]);
    assert.equal(probe.code, 0, probe.stderr);
    const info = JSON.parse(probe.stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
    assert.ok(Math.abs(Number(info.format.duration) - 20) < 0.5, `duration ${info.format.duration}`);
    assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    const local = await decode(media.mp4);
    const remote = await decode(url);
    assert.equal(remote.code, 0, remote.errors);
    assert.equal(remote.errors, '');
    assert.equal(remote.frames, local.frames);
    const h = await holding(edge, ids.mp4!);
    assert.equal(h.haveBlocks, h.totalBlocks, 'every block read was fetched, verified and kept');
  });

  it('answers multiple ranges with multipart/byteranges, fetching only the blocks they need', async () => {
    const url = `${edge.http}/content/${ids.ts}`;
    const res = await fetch(url, { headers: { range: 'bytes=0-99,400000-400099,-50' } });
    assert.equal(res.status, 206);
    const type = res.headers.get('content-type')!;
    const boundary = /boundary=(\S+)/.exec(type)![1]!;
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(Number(res.headers.get('content-length')), body.length);
    const original = readFileSync(media.ts);
    const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    assert.equal(parts.length, 3);
    const expected = [[0, 99], [400000, 400099], [original.length - 50, original.length - 1]] as const;
    for (const [i, part] of parts.entries()) {
      const [head, data] = part.split('\r\n\r\n') as [string, string];
      const [s, e] = expected[i]!;
      assert.match(head, new RegExp(`content-range: bytes ${s}-${e}/${original.length}`));
      assert.match(head, /content-type: video\/mp2t/);
      assert.deepEqual(Buffer.from(data.replace(/\r\n$/, ''), 'latin1'), original.subarray(s, e + 1));
    }
    const h = await holding(edge, ids.ts!);
    assert.ok(h.haveBlocks > 0 && h.haveBlocks < h.totalBlocks, `fetched ${h.haveBlocks} of ${h.totalBlocks} blocks`);
  });

  it('streams MPEG-TS and fragmented MP4 through HLS playlists with byte ranges', async () => {
    for (const key of ['ts', 'fmp4'] as const) {
      const playlistUrl = `${edge.http}/hls/${ids[key]}/index.m3u8`;
      const res = await fetch(playlistUrl);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/vnd.apple.mpegurl');
      const text = await res.text();
      assert.match(text, /^#EXTM3U\n/);
      assert.match(text, /#EXT-X-BYTERANGE:\d+@\d+/);
      assert.match(text, /#EXT-X-ENDLIST\n$/);
      if (key === 'fmp4') assert.match(text, /#EXT-X-MAP:URI="[^"]+",BYTERANGE="\d+@0"/);
      const total = [...text.matchAll(/#EXTINF:([\d.]+),/g)].reduce((s, m) => s + Number(m[1]), 0);
      assert.ok(Math.abs(total - 20) < 1, `${key} playlist lasts ${total} s`);
      const played = await decode(playlistUrl);
      assert.equal(played.code, 0, played.errors);
      const local = await decode(media[key]);
      assert.ok(Math.abs(played.frames - local.frames) <= 1, `${key}: ${played.frames} frames over HLS, ${local.frames} from the file`);
    }
    const notMedia = await fetch(`${edge.http}/hls/${ids.mp4}/index.m3u8`);
    assert.equal(notMedia.status, 404);
  });

  it('honours conditional requests', async () => {
    const url = `${edge.http}/content/${ids.mp4}`;
    const etag = `"${ids.mp4}"`;
    const head = await fetch(url, { method: 'HEAD' });
    const lastModified = head.headers.get('last-modified')!;
    assert.equal(head.headers.get('content-type'), 'video/mp4');
    assert.equal((await fetch(url, { headers: { 'if-none-match': `W/${etag}` } })).status, 304);
    assert.equal((await fetch(url, { headers: { 'if-modified-since': lastModified } })).status, 304);
    assert.equal((await fetch(url, { method: 'HEAD', headers: { 'if-modified-since': 'Thu, 01 Jan 2004 00:00:00 GMT' } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'if-match': '"other"' } })).status, 412);
    const stale = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
    assert.equal(stale.status, 200);
    const fresh = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': lastModified } });
    assert.equal(fresh.status, 206);
    assert.equal((await fresh.arrayBuffer()).byteLength, 10);
    assert.equal((await fetch(url, { headers: { range: 'bytes=99999999-' } })).status, 416);
    assert.equal((await fetch(`${edge.http}/files/clip.mp4`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${edge.http}/content/${ids.mp4}/other-name.mp4`, { method: 'HEAD' })).status, 404);
    assert.equal((await fetch(`${edge.http}/content/${ids.mp4}`, { method: 'DELETE' })).status, 405);
  });

  it('clients that stop reading hold no more than a few blocks and do not block others', async (t) => {
    const big = `${dir.path}/big.bin`;
    await writeSample(big, 96 * 2 ** 20, 'slow');
    const id = await publish(network, big, ['--criteria', 'region=eu']);
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${edge.process.pid}/status`, 'utf8'))![1]) * 1024;
    const before = rss();
    const stalled = Array.from({ length: 8 }, () => {
      const socket = net.connect(Number(new URL(edge.http).port), '127.0.0.1');
      socket.write(`GET /content/${id} HTTP/1.1\r\nhost: x\r\n\r\n`);
      socket.pause();
      return socket;
    });
    try {
      await sleep(1500);
      // Whole-content buffering would take 8 x 96 MiB; streaming with backpressure takes a few blocks.
      const grown = rss() - before;
      t.diagnostic(`node memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB with 8 stalled clients`);
      assert.ok(grown < 64 * 2 ** 20, `node memory grew by ${grown} bytes with 8 stalled clients of a 96 MiB content`);
      const r = await runCommand('curl', ['-sS', '--fail', '-o', `${dir.path}/big-copy.bin`, `${edge.http}/content/${id}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readFileSync(`${dir.path}/big-copy.bin`), readFileSync(big));
    } finally {
      stalled.forEach((s) => s.destroy());
    }
  });

  it('no path escapes the content tree', async () => {
    for (const p of ['/content/..%2F..%2Fetc%2Fpasswd', '/files/..%2Findex.db', '/content/%2e%2e/%2e%2e/etc/passwd', '/hls/../../etc/passwd', '/content/%ZZ']) {
      const r = await runCommand('curl', ['-sS', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `${edge.http}${p}`]);
      assert.equal(r.stdout, '404', p);
    }
  });

  it('a node outside the criteria neither fetches nor serves', async () => {
    const res = await fetch(`${outsider.http}/content/${ids.mp4}`);
    assert.equal(res.status, 503);
    assert.equal((await res.json() as { error: { code: string } }).error.code, 'ERR_NOT_HELD');
    assert.equal((await holding(outsider, ids.mp4!)).haveBlocks, 0);
  });
});
