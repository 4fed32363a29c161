/**
 * Operating a node: a root configured only by a YAML file, a bad file refused with the key
 * named, JSON logs, the OpenAPI description, and Prometheus metrics that account for the
 * bytes of a real publish, distribution and HTTP download.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from '../../src/demo/local-network.js';
import { startNode, type Ready } from '../helpers/node-process.js';
import { writeSample } from '../../src/demo/sample.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { apiFetch, metric } from '../helpers/api-fetch.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../../src/ingest/publisher-key.js';

const SIZE = 3 * 2 ** 20 + 7;

describe('operations', () => {
  const dir = tempDir('canopy-i8-ops-');
  const children: ChildProcess[] = [];
  let root: Ready;
  let edge: Ready;
  let rootLog: () => string;

  before(async () => {
    // Both nodes accept one admin API token (as in a LocalNetwork); the helpers find it here.
    // The root authorises the key the CLI publishes with (the test key), from its YAML file.
    process.env.CANOPY_API_TOKEN_FILE = `${dir.path}/api-token`;
    const cfg = `${dir.path}/root.yaml`;
    writeFileSync(cfg, ['# the root of a test network', 'root: true', `data: ${dir.path}/root`, 'name: config-root', 'peerPort: 0', 'apiPort: 0', 'httpPort: 0', 'ftpPort: 0', 's3Port: 0', 'blockSize: 256KiB', `apiTokenFile: ${dir.path}/api-token`, 'authorisePublishers:', `  - ${loadOrCreateKeyFile(defaultKeyPath()).path}`, 'volumes:', `  - ${dir.path}/root/d1`, `  - { path: ${dir.path}/root/d2, weight: 2 }`].join('\n'));
    const r = await startNode(['--config', cfg]);
    children.push(r.child);
    root = r.ready;
    rootLog = r.stderr;
    // The edge's file says one thing and its flags another: the flags win. Its attributes come
    // from its join token (attested by the root), never from its own file or flags.
    const { token } = (await (await apiFetch(`${root.api}/api/join-tokens`, { method: 'POST', body: JSON.stringify({ attrs: 'region=eu', ttl: '10m' }) })).json()) as { token: string };
    const edgeCfg = `${dir.path}/edge.yaml`;
    writeFileSync(edgeCfg, ['name: from-file', `data: ${dir.path}/edge`, 'join: 127.0.0.1:1', 'apiPort: 1', 'downloadConcurrency: 2'].join('\n'));
    const e = await startNode(['--config', edgeCfg, '--join', `${root.peer.host}:${root.peer.port}`, '--name', 'edge', '--token', token, '--api-token-file', `${dir.path}/api-token`, '--peer-port', '0', '--api-port', '0', '--http-port', '0', '--ftp-port', '0', '--s3-port', '0']);
    children.push(e.child);
    edge = e.ready;
  });
  after(async () => {
    await Promise.all(children.map(stopProcess));
    dir.remove();
  });

  it('refuses a bad config file, naming the key', async () => {
    const bad = `${dir.path}/bad.yaml`;
    writeFileSync(bad, 'root: true\napiPort: 70000\n');
    const r = await runCli(['node', '--config', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[ERR_CONFIG_INVALID\]: apiPort: 70000 is out of range/);
    writeFileSync(bad, 'root: true\nvolumes:\n  - { path: /x, wieght: 2 }\n');
    assert.match((await runCli(['node', '--config', bad])).stderr, /volumes\[0\]\.wieght: unknown key/);
  });

  it('lets flags override the file, key by key', async () => {
    const info = (await (await apiFetch(`${edge.api}/api/node`)).json()) as { name: string; attrs: Record<string, string> };
    assert.equal(info.name, 'edge');
    assert.deepEqual(info.attrs, { region: 'eu' }, 'the attributes are those of the join token');
  });

  it('runs from the file: name, volumes and block size come from it', async () => {
    const info = (await (await apiFetch(`${root.api}/api/node`)).json()) as { name: string; store: { volumes: { path: string }[] } };
    assert.equal(info.name, 'config-root');
    assert.deepEqual(info.store.volumes.map((v) => v.path), [`${dir.path}/root/d1`, `${dir.path}/root/d2`]);
    const settings = (await (await apiFetch(`${root.api}/api/publish/settings`)).json()) as { blockSize: number };
    assert.equal(settings.blockSize, 256 * 1024);
    const line = rootLog().split('\n').find((l) => l.includes('node started'))!;
    const log = JSON.parse(line) as Record<string, unknown>;
    assert.equal(log.level, 'info');
    assert.equal(log.node, 'config-root');
    assert.ok(typeof log.time === 'string' && !Number.isNaN(Date.parse(log.time)));
  });

  it('serves its OpenAPI description and health', async () => {
    const doc = (await (await apiFetch(`${root.api}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/healthz', '/metrics', '/api/contents/{ref}/status', '/api/criteria/match', '/api/publish/drafts', '/api/uploads', '/api/overview']) assert.ok(doc.paths[p], p);
    assert.deepEqual(await (await apiFetch(`${edge.api}/healthz`)).json(), { ok: true });
  });

  it('accounts in /metrics for the bytes of a publish, its distribution and a download', async () => {
    const file = `${dir.path}/m.bin`;
    await writeSample(file, SIZE, 'ops');
    const pub = await runCli(['publish', file, '--criteria', 'region=eu', '--to', root.api, '--json']);
    assert.equal(pub.code, 0, pub.stderr);
    // The block size is chosen per content by the publisher's analysis; count what it cut.
    const { contentId, blocks } = lastJson<{ contentId: string; blocks: number }>(pub.stdout);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = (await (await apiFetch(`${root.api}/api/contents/${contentId}/status`)).json()) as ContentStatus;
      if (s.nodes.every((n) => n.complete)) break;
      assert.ok(Date.now() < deadline, 'distribution did not finish');
      await sleep(100);
    }
    assert.equal(await metric(edge.api, /^canopy_bytes_in_total\{class="peer"\} (\d+)$/m), SIZE);
    assert.equal(await metric(edge.api, /^canopy_blocks_received_total\{class="peer"\} (\d+)$/m), blocks);
    assert.equal(await metric(root.api, /^canopy_blocks_served_total (\d+)$/m), blocks);
    assert.equal(await metric(root.api, /^canopy_bytes_out_total\{class="peer"\} (\d+)$/m), SIZE);
    assert.equal(await metric(root.api, /^canopy_tree_nodes (\d+)$/m), 2);
    assert.equal(await metric(root.api, new RegExp(`^canopy_distribution_progress_ratio\\{content="${contentId}",name="m.bin"\\} (\\S+)$`, 'm')), 1);
    const stored = (await metric(root.api, /^canopy_store_bytes\{volume="v0",[^}]*\} (\d+)$/m)) + (await metric(root.api, /^canopy_store_bytes\{volume="v1",[^}]*\} (\d+)$/m));
    assert.equal(stored, SIZE, 'both volumes together hold the content once');
    const curl = await runCommand('curl', ['-sf', '-o', '/dev/null', `${edge.http}/content/${contentId}`]);
    assert.equal(curl.code, 0);
    await sleep(50);
    const httpOut = await metric(edge.api, /^canopy_bytes_out_total\{class="http"\} (\d+)$/m);
    assert.ok(httpOut >= SIZE && httpOut < SIZE + 4096, `http bytes out ${httpOut}: the body plus headers`);
    // A second download of the same bytes is served from the shared block cache.
    const misses = await metric(edge.api, /^canopy_cache_requests_total\{result="miss"\} (\d+)$/m);
    assert.equal(misses, blocks);
    assert.equal((await runCommand('curl', ['-sf', '-o', '/dev/null', `${edge.http}/content/${contentId}`])).code, 0);
    assert.equal(await metric(edge.api, /^canopy_cache_requests_total\{result="hit"\} (\d+)$/m), blocks);
  });

  it('shows live status and top views that end when every qualified node is complete', async () => {
    const file = `${dir.path}/w.bin`;
    await writeSample(file, SIZE, 'watch');
    const pub = await runCli(['publish', file, '--criteria', 'region=eu', '--to', root.api, '--json']);
    const { contentId } = lastJson<{ contentId: string }>(pub.stdout);
    const watched = await runCli(['status', contentId, '--watch', '--interval', '100', '--to', root.api], { timeoutMs: 60_000 });
    assert.equal(watched.code, 0, watched.stderr);
    const frames = watched.stdout.trim().split('\n\n');
    assert.match(frames[frames.length - 1]!, /w\.bin .* 1\/1 complete\n {2}edge .*100%.*eta done/);
    const top = await runCli(['top', '--once', '--to', root.api]);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^canopy top · .* · 2 nodes/);
    assert.match(top.stdout, /\nedge +region=eu +up +6\.0 MiB/);
    assert.match(top.stdout, /\nw\.bin +v1\/1 +live +3\.0 MiB +region=eu +1\/1 /);
    const bad = await runCli(['status', contentId, '--watch', '--interval', 'soon', '--to', root.api]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--interval/);
  });
});
