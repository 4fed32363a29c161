/**
 * Publishing media end to end over a real network of node processes: an MP4 whose moov
 * sits at the end is analysed, hashed and signed by the CLI, uploaded to the root, spread
 * to the qualified node, and fetched back with curl byte for byte (and read by ffprobe).
 * The root refuses uploads whose manifest signature or block hashes do not verify.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { ingestFile } from '../../src/ingest/ingest-file.js';
import { hashOnlySink } from '../../src/ingest/sinks.js';
import { frameHeader, FRAME_BLOCK, FRAME_MANIFEST, PUBLISH_MEDIA_TYPE } from '../../src/ingest/upload-format.js';
import { loadKeyFile } from '../../src/ingest/publisher-key.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { findApiToken } from '../../src/client/api-token.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('publishing media over a real network', () => {
  const dir = tempDir('canopy-i10-e2e-');
  const network = new LocalNetwork(`${dir.path}/net`);
  const movie = `${dir.path}/movie.mp4`;
  const key = `${dir.path}/publisher.json`;

  before(async () => {
    await network.start([
      { name: 'eu-edge', attrs: { region: 'eu' } },
      { name: 'us-edge', attrs: { region: 'us' } },
    ]);
    const ff = await runCommand('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=8:size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=duration=8', '-c:v', 'mpeg4', '-q:v', '2', '-c:a', 'aac', movie]);
    assert.equal(ff.code, 0, ff.stderr);
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('publishes an MP4 with moov at the end and serves it back byte-identical', async () => {
    const created = await runCli(['keys', 'create', '--out', key, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const { publicKey } = lastJson<{ publicKey: string }>(created.stdout);
    // A new publisher key publishes once the root has authorised it.
    const authorised = await runCli(['publishers', 'add', '--key', key, '--name', 'media test', '--to', network.root!.api, '--json']);
    assert.equal(authorised.code, 0, authorised.stderr);
    const pub = await runCli(['publish', movie, '--criteria', 'region=eu', '--to', network.root!.api, '--key', key, '--block-size', '64KiB', '--json']);
    assert.equal(pub.code, 0, pub.stderr);
    const result = lastJson<{ contentId: string; analyser: string; linear: boolean; tracks: { kind: string }[]; blocks: number; publisher: string }>(pub.stdout);
    assert.equal(result.analyser, 'mp4');
    assert.equal(result.linear, false);
    assert.deepEqual(result.tracks.map((t) => t.kind), ['header', 'header', 'media']);
    assert.equal(result.publisher, publicKey);

    for (let i = 0; ; i++) {
      const st = await runCli(['status', result.contentId, '--to', network.root!.api, '--json']);
      const status = lastJson<ContentStatus>(st.stdout);
      if (status.nodes.find((n) => n.name === 'eu-edge')?.complete) break;
      assert.ok(i < 600, 'distribution did not finish');
      await sleep(100);
    }
    const eu = network.nodes.find((n) => n.name === 'eu-edge')!;
    const url = `${eu.http}/content/${result.contentId}/movie.mp4`;
    const out = `${dir.path}/back.mp4`;
    const curl = await runCommand('curl', ['-sS', '--fail', '-o', out, url]);
    assert.equal(curl.code, 0, curl.stderr);
    assert.equal(sha(readFileSync(out)), sha(readFileSync(movie)));
    const probe = await runCommand('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.ok(Math.abs(Number(probe.stdout.trim()) - 8) < 0.5, probe.stdout);
  });

  async function upload(blocks: Buffer[], manifest: unknown): Promise<{ status: number; code: string }> {
    const json = Buffer.from(JSON.stringify(manifest));
    const body = Buffer.concat([...blocks.flatMap((b) => [frameHeader(FRAME_BLOCK, b.length), b]), frameHeader(FRAME_MANIFEST, json.length), json]);
    const res = await apiFetch(`${network.root!.api}/api/contents`, { method: 'POST', body, headers: { 'content-type': PUBLISH_MEDIA_TYPE } });
    const reply = (await res.json()) as { error?: { code: string } };
    return { status: res.status, code: reply.error?.code ?? 'OK' };
  }

  it('refuses a manifest whose signature fails, blocks that do not match, and a foreign origin', async () => {
    const bytes = readFileSync(movie);
    const rootId = (await (await apiFetch(`${network.root!.api}/api/node`)).json() as { nodeId: string }).nodeId;
    const signed = await ingestFile(movie, hashOnlySink, { name: 'forged.mp4', criteria: '*', origin: rootId, key: loadKeyFile(key).privateKey, blockSize: 1 << 20 });
    const blocks = signed.manifest.blocks.map((b) => bytes.subarray(b.offset, b.offset + b.length));
    assert.deepEqual(await upload(blocks, { ...signed.manifest, criteria: 'region=us' }), { status: 400, code: 'ERR_MANIFEST_INVALID' });
    const tampered = blocks.map((b, i) => (i === 0 ? Buffer.concat([b.subarray(0, b.length - 1), Buffer.from([b[b.length - 1]! ^ 1])]) : b));
    assert.deepEqual(await upload(tampered, signed.manifest), { status: 400, code: 'ERR_PUBLISH_MISMATCH' });
    const foreign = await ingestFile(movie, hashOnlySink, { name: 'foreign.mp4', criteria: '*', origin: 'someone-else', key: loadKeyFile(key).privateKey, blockSize: 1 << 20 });
    assert.deepEqual(await upload(blocks, foreign.manifest), { status: 400, code: 'ERR_PUBLISH_MISMATCH' });
    assert.deepEqual(await upload(blocks, signed.manifest), { status: 201, code: 'OK' });
  });

  it('still accepts a raw upload (curl), which the root spools, analyses and signs', async () => {
    const ts = `${dir.path}/clip.ts`;
    const ff = await runCommand('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', movie, '-c', 'copy', '-f', 'mpegts', ts]);
    assert.equal(ff.code, 0, ff.stderr);
    const r = await runCommand('curl', ['-sS', '--fail-with-body', '-H', `authorization: Bearer ${findApiToken()}`, '-H', 'content-type: application/octet-stream', '--data-binary', `@${ts}`, `${network.root!.api}/api/contents?name=clip.ts&criteria=region%3Deu`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const summary = JSON.parse(r.stdout) as { analyser: string; mediaType: string; blockSize: number };
    assert.equal(summary.analyser, 'mpeg-ts');
    assert.equal(summary.mediaType, 'video/mp2t');
    assert.equal(summary.blockSize % 188, 0);
  });
});
