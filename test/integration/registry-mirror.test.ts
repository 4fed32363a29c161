/**
 * Preheat and the registry mirror, with real parts: Debian's docker-registry holding a
 * two-platform image built by the test, `canopy publish oci://...` fetching it into the
 * network for `gpu=h100` nodes only, and skopeo pulling it through a node's HTTP edge (no
 * registry traffic for blobs), while a node outside the criteria answers as a mirror
 * without the image. Bad upstreams (wrong bytes) are refused and publish nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { holding, startNetwork } from '../helpers/edge-network.js';
import { buildImage, fileDigest, pushImage, startHostileRegistry, startRegistry, type RunningRegistry, type TestImage } from '../helpers/oci-registry.js';
import { waitFor } from '../helpers/wait.js';
import { startContainerd } from '../helpers/containerd.js';
import { apiFetch, metric } from '../helpers/api-fetch.js';

describe('registry mirror and preheat', () => {
  const dir = tempDir('canopy-registry-');
  let registry: RunningRegistry;
  let hostile: { host: string; close: () => Promise<void> };
  let image: TestImage;
  let network: LocalNetwork;
  let gpu: RunningNode;
  let cpu: RunningNode;
  let contentId: string;

  before(async () => {
    image = await buildImage(path.join(dir.path, 'layout'), { platforms: ['linux/amd64', 'linux/arm64'], layerSizes: [300 * 1024, 40 * 1024, 20 * 1024] });
    registry = await startRegistry(path.join(dir.path, 'registry'));
    await pushImage(image, registry, 'team/app');
    hostile = await startHostileRegistry(registry);
    network = await startNetwork(path.join(dir.path, 'net'), [], [
      { spec: { name: 'gpu', attrs: { gpu: 'h100' } }, args: [] },
      { spec: { name: 'cpu', attrs: { gpu: 'none' } }, args: [] },
    ]);
    [gpu, cpu] = network.nodes as [RunningNode, RunningNode];
  });
  after(async () => {
    await network?.stop();
    await hostile?.close();
    await registry?.stop();
    dir.remove();
  });

  it('preheats an image to the qualified node only, as one content in canopy status', async () => {
    const r = await runCli(['publish', `oci://${registry.host}/team/app:${image.tag}`, '--criteria', 'gpu=h100', '--insecure-registry', '--block-size', '64KiB', '--to', network.root!.api, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ contentId: string; digest: string; blobs: number; name: string }>(r.stdout);
    contentId = out.contentId;
    assert.equal(out.digest, image.digest);
    assert.equal(out.blobs, image.blobs.size, 'every manifest, config and layer of both platforms');
    assert.equal(out.name, `${registry.host}~team~app:${image.tag}`);
    await waitFor('the gpu node to hold the image', async () => {
      const h = await holding(gpu, contentId);
      return h.haveBlocks === h.totalBlocks;
    });
    assert.equal((await holding(cpu, contentId)).haveBlocks, 0, 'the node outside the criteria received nothing');
    const status = await runCli(['status', contentId, '--to', network.root!.api, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const s = lastJson<{ name: string; convergence: { complete: number; qualified: number } }>(status.stdout);
    assert.equal(s.name, out.name);
    assert.deepEqual([s.convergence.complete, s.convergence.qualified], [1, 1]);
  });

  it('serves the image to skopeo from the qualified node, with no blob read from the registry or another node', async () => {
    const before = registry.requests({ method: 'GET', path: /\/blobs\// }).length;
    const fromPeers = /^canopy_bytes_in_total\{class="peer"\} (\d+)$/m;
    const peerBytes = await metric(gpu.api, fromPeers);
    assert.ok(peerBytes > 0, 'the preheat reached the node from its peers');
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const [os, arch] = platform.split('/') as [string, string];
      const target = path.join(dir.path, `pulled-${arch}`);
      const r = await runCommand('skopeo', ['copy', '--src-tls-verify=false', '--override-os', os, '--override-arch', arch, `docker://${new URL(gpu.http).host}/team/app:${image.tag}`, `oci:${target}:x`]);
      assert.equal(r.code, 0, r.stderr);
      const index = JSON.parse(readFileSync(path.join(target, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]!.digest, image.platforms[platform]!.manifest);
      for (const layer of image.platforms[platform]!.layers) assert.equal(fileDigest(path.join(target, 'blobs', 'sha256', layer.digest.slice(7))), layer.digest);
    }
    assert.equal(registry.requests({ method: 'GET', path: /\/blobs\// }).length, before, 'the registry served no blob');
    assert.equal(await metric(gpu.api, fromPeers), peerBytes, 'no byte came from another node: the preheated blocks were all local');
  });

  it('answers the Distribution API: base, digests, ranges, ns, and OCI errors', async () => {
    const base = gpu.http;
    const v2 = await fetch(`${base}/v2/`);
    assert.equal(v2.status, 200);
    assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const tag = await fetch(`${base}/v2/team/app/manifests/${image.tag}`, { method: 'HEAD' });
    assert.equal(tag.status, 200);
    assert.equal(tag.headers.get('docker-content-digest'), image.digest);
    assert.equal(tag.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    const layer = image.platforms['linux/amd64']!.layers[0]!;
    const ranged = await fetch(`${base}/v2/team/app/blobs/${layer.digest}`, { headers: { range: 'bytes=100-1099' } });
    assert.equal(ranged.status, 206);
    const whole = readFileSync(path.join(image.layout, 'blobs', 'sha256', layer.digest.slice(7)));
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), whole.subarray(100, 1100));
    assert.equal((await fetch(`${base}/v2/team/app/manifests/${image.tag}?ns=${registry.host}`)).status, 200);
    const errors: [string, number, string, RequestInit?][] = [
      [`/v2/team/app/manifests/${image.tag}?ns=docker.io`, 404, 'MANIFEST_UNKNOWN'],
      ['/v2/nobody/here/manifests/latest', 404, 'MANIFEST_UNKNOWN'],
      [`/v2/team/app/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
      ['/v2/team/app/blobs/sha256:xyz', 400, 'DIGEST_INVALID'],
      ['/v2/Team/App/manifests/latest', 400, 'NAME_INVALID'],
      [`/v2/team/app/manifests/${image.tag}`, 405, 'UNSUPPORTED', { method: 'PUT', body: '{}' }],
      [`/v2/team/app/blobs/${layer.digest}`, 416, 'RANGE_INVALID', { headers: { range: `bytes=${whole.length + 10}-` } }],
    ];
    for (const [url, status, code, init] of errors) {
      const res = await fetch(`${base}${url}`, init);
      assert.equal(res.status, status, url);
      assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, code, url);
    }
  });

  it('a node outside the criteria is a mirror without the image, so clients fall back', async () => {
    const res = await fetch(`${cpu.http}/v2/team/app/manifests/${image.tag}`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'MANIFEST_UNKNOWN');
    const blob = await fetch(`${cpu.http}/v2/team/app/blobs/${image.platforms['linux/amd64']!.layers[0]!.digest}`);
    assert.equal(blob.status, 404);
    assert.equal((await holding(cpu, contentId)).haveBlocks, 0, 'nothing was fetched by asking');
  });

  it('containerd pulls through the qualified node with a hosts.toml mirror, and falls back to the registry past a node outside the criteria', async () => {
    const ctrd = await startContainerd(path.join(dir.path, 'containerd'));
    try {
      const reference = `${registry.host}/team/app:${image.tag}`;
      ctrd.hosts(registry.host, `http://${registry.host}`, [`http://${new URL(gpu.http).host}`]);
      const before = registry.requests().length;
      const viaGpu = await ctrd.pull(reference, 'linux/amd64');
      assert.equal(viaGpu.code, 0, viaGpu.stderr + viaGpu.stdout);
      assert.equal(registry.requests().length, before, 'containerd resolved and fetched everything from the node');
      ctrd.hosts(registry.host, `http://${registry.host}`, [`http://${new URL(cpu.http).host}`]);
      const viaCpu = await ctrd.pull(reference, 'linux/arm64');
      assert.equal(viaCpu.code, 0, viaCpu.stderr + viaCpu.stdout);
      const fellBack = registry.requests({ method: 'GET', path: /\/blobs\// }).slice(-10).map((r) => r.uri);
      assert.ok(fellBack.some((u) => u.includes(image.platforms['linux/arm64']!.layers[2]!.digest)), 'the arm64 layer came from the registry');
      assert.equal((await holding(cpu, contentId)).haveBlocks, 0);
    } finally {
      await ctrd.stop();
    }
  });

  it('preheats one platform from a TLS registry with basic auth, given its CA and credentials', async () => {
    const auth = { user: 'puller', password: 'pull-secret' };
    const secure = await startRegistry(path.join(dir.path, 'secure'), { tls: true, auth });
    try {
      await pushImage(image, secure, 'private/app', auth);
      const ref = `oci://${secure.host}/private/app:${image.tag}`;
      const anonymous = await runCli(['publish', ref, '--registry-ca', secure.certFile!, '--to', network.root!.api]);
      assert.match(anonymous.stderr, /\[ERR_OCI_UPSTREAM\].*answered 401 UNAUTHORIZED/);
      const untrusted = await runCli(['publish', ref, '--registry-creds', `${auth.user}:${auth.password}`, '--to', network.root!.api]);
      assert.match(untrusted.stderr, /\[ERR_OCI_UPSTREAM\].*certificate/i);
      const r = await runCli(['publish', ref, '--platform', 'linux/arm64', '--criteria', 'gpu=h100', '--registry-ca', secure.certFile!, '--registry-creds', `${auth.user}:${auth.password}`, '--to', network.root!.api, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson<{ digest: string; blobs: number }>(r.stdout);
      assert.equal(out.digest, image.digest);
      // The index, one platform's manifest and config, its two shared layers and its own.
      assert.equal(out.blobs, 6);
    } finally {
      await secure.stop();
    }
  });

  it('refuses a bad upstream with a clear error and publishes nothing', async () => {
    const count = async () => ((await apiFetch(`${network.root!.api}/api/contents`).then((r) => r.json())) as { contents: unknown[] }).contents.length;
    const before = await count();
    // The other bad upstreams are met in test/integration/registry-upstream.test.ts, without a network.
    const r = await runCli(['publish', `oci://${hostile.host}/wrong/team/app:${image.tag}`, '--insecure-registry', '--to', network.root!.api]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[ERR_OCI_DIGEST_MISMATCH\].*came back as bytes that hash to/);
    const bad = await runCli(['publish', 'oci://127.0.0.1:1/Bad Name:tag', '--to', network.root!.api]);
    assert.match(bad.stderr, /\[ERR_OCI_REFERENCE\]/);
    assert.equal(await count(), before, 'nothing was published');
  });
});
