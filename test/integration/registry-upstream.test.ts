/**
 * The upstream side, without a Canopy network: Debian's Distribution registry on loopback
 * holding a multi-platform image built and pushed by test/helpers/oci-registry.ts, read back
 * with skopeo (plain HTTP, then TLS with basic auth); then Canopy's registry client and
 * spool (what preheat runs) against it and against a hostile registry in front of it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCommand, tempDir } from '../helpers/cli.js';
import { buildImage, fileDigest, pushImage, startHostileRegistry, startRegistry, type RunningRegistry, type TestImage } from '../helpers/oci-registry.js';
import { isCanopyError } from '../../src/core/errors.js';
import { parseImageIndex } from '../../src/registry/image-index.js';
import { spoolImage } from '../../src/registry/image-spool.js';
import { parseImageReference } from '../../src/registry/reference.js';
import { RegistryClient, type UpstreamOptions } from '../../src/registry/registry-client.js';

const dir = tempDir('canopy-upstream-');
let image: TestImage;
const registries: RunningRegistry[] = [];

before(async () => {
  image = await buildImage(path.join(dir.path, 'layout'), { platforms: ['linux/amd64', 'linux/arm64'] });
});

after(async () => {
  await Promise.all(registries.map((r) => r.stop()));
  dir.remove();
});

test('a multi-platform image pushed to the plain-HTTP registry reads back with the same digests', async () => {
  const registry = await startRegistry(path.join(dir.path, 'plain'));
  registries.push(registry);
  await pushImage(image, registry, 'test/app');
  const out = path.join(dir.path, 'back');
  const r = await runCommand('skopeo', ['copy', '--src-tls-verify=false', '--override-os', 'linux', '--override-arch', 'arm64', `docker://${registry.host}/test/app:${image.tag}`, `oci:${out}:x`]);
  assert.equal(r.code, 0, r.stderr);
  const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(index.manifests[0]!.digest, image.platforms['linux/arm64']!.manifest);
  for (const layer of image.platforms['linux/arm64']!.layers) assert.equal(fileDigest(path.join(out, 'blobs', 'sha256', layer.digest.slice(7))), layer.digest);
  assert.ok(registry.requests({ method: 'GET', path: /\/blobs\/sha256:/ }).length >= 3, 'the registry log shows the blob reads');
});

test('the TLS registry with basic auth refuses anonymous reads and serves with credentials', async () => {
  const auth = { user: 'tester', password: 'secret-pw' };
  const registry = await startRegistry(path.join(dir.path, 'tls'), { tls: true, auth });
  registries.push(registry);
  await pushImage(image, registry, 'private/app', auth);
  const anon = await runCommand('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/private/app:${image.tag}`]);
  assert.notEqual(anon.code, 0);
  const ok = await runCommand('skopeo', ['inspect', '--raw', `--cert-dir=${path.dirname(registry.certFile!)}`, '--creds', `${auth.user}:${auth.password}`, `docker://${registry.host}/private/app:${image.tag}`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { manifests: unknown[] }).manifests.length, 2);
});

async function spool(options: UpstreamOptions, reference: string, platform?: string) {
  const client = new RegistryClient(options);
  try {
    const file = path.join(dir.path, `spool-${Math.random().toString(36).slice(2)}`);
    return { file, ...(await spoolImage(client, parseImageReference(`oci://${options.registry}/${reference}`), file, { platform })) };
  } finally {
    await client.close();
  }
}

test('the spool lays out every blob once, each at its offset with its bytes, and the index last', async () => {
  const registry = registries[0]!;
  const s = await spool({ registry: registry.host, insecure: true }, `test/app:${image.tag}`);
  const bytes = readFileSync(s.file);
  assert.equal(bytes.length, s.size);
  assert.equal(s.index.blobs.length, image.blobs.size);
  for (const b of s.index.blobs) assert.equal(`sha256:${createHash('sha256').update(bytes.subarray(b.offset, b.offset + b.size)).digest('hex')}`, b.digest);
  const header = s.plan[0]!;
  assert.equal(header.kind, 'header');
  assert.deepEqual(parseImageIndex(bytes.subarray(header.offset, header.offset + header.length), s.size), s.index);
  assert.equal(s.plan.length, 1 + s.index.blobs.length, 'one track per blob, after the index');
});

test('a layer over 256 MiB is spooled and checked as it streams, never whole in memory', async () => {
  const registry = registries[0]!;
  const big = await buildImage(path.join(dir.path, 'big'), { layerSizes: [257 * 2 ** 20, 1024] });
  await pushImage(big, registry, 'test/big');
  const rss = { base: process.memoryUsage.rss(), peak: 0 };
  const sampler = setInterval(() => (rss.peak = Math.max(rss.peak, process.memoryUsage.rss())), 20);
  try {
    const s = await spool({ registry: registry.host, insecure: true }, `test/big:${big.tag}`);
    const layer = big.platforms['linux/amd64']!.layers[0]!;
    const blob = s.index.blobs.find((b) => b.digest === layer.digest)!;
    assert.ok(blob.size > 256 * 2 ** 20);
    assert.equal(fileDigest(s.file, blob.offset, blob.size), layer.digest);
  } finally {
    clearInterval(sampler);
  }
  // Whole in memory would be 257 MiB more; streamed, the growth is buffers and garbage.
  assert.ok(rss.peak - rss.base < 160 * 2 ** 20, `RSS grew ${Math.round((rss.peak - rss.base) / 2 ** 20)} MiB while spooling`);
});

test('bad upstreams are refused with their codes', async () => {
  const hostile = await startHostileRegistry(registries[0]!);
  try {
    const cases: [string, string, RegExp, Partial<UpstreamOptions>?][] = [
      ['wrong/test/app', 'ERR_OCI_DIGEST_MISMATCH', /came back as bytes that hash to/],
      ['huge/test/app', 'ERR_OCI_MANIFEST_INVALID', /larger than 4194304 bytes/],
      ['status401/test/app', 'ERR_OCI_UPSTREAM', /answered 401 UNAUTHORIZED/],
      ['status429/test/app', 'ERR_OCI_UPSTREAM', /answered 429 TOOMANYREQUESTS.*retry after 30/],
      ['status500/test/app', 'ERR_OCI_UPSTREAM', /answered 500/],
      ['silent/test/app', 'ERR_OCI_UPSTREAM', /timed out/, { timeoutMs: 500 }],
      ['test/nothing', 'ERR_OCI_UPSTREAM', /answered 404 (NAME|MANIFEST)_UNKNOWN/],
    ];
    for (const [repo, code, message, extra] of cases) {
      await assert.rejects(spool({ registry: hostile.host, insecure: true, ...extra }, `${repo}:${image.tag}`), (err: Error) => isCanopyError(err) && err.code === code && message.test(err.message), repo);
    }
    await assert.rejects(spool({ registry: registries[0]!.host, insecure: true }, `test/app:${image.tag}`, 'linux/s390x'), /no manifest for platform linux\/s390x/);
    // The bearer-token flow: anonymous and wrong credentials are refused by the token realm; right ones get a token.
    await assert.rejects(spool({ registry: hostile.host, insecure: true }, `bearer/test/app:${image.tag}`), /token realm .* answered 401/);
    await assert.rejects(spool({ registry: hostile.host, insecure: true, credentials: { username: 'puller', password: 'nope' } }, `bearer/test/app:${image.tag}`), /answered 401/);
    const viaToken = await spool({ registry: hostile.host, insecure: true, credentials: { username: 'puller', password: 'pull-pw' } }, `bearer/test/app:${image.tag}`, 'linux/arm64');
    assert.equal(viaToken.index.digest, image.digest);
  } finally {
    await hostile.close();
  }
});

test('the TLS registry needs its CA and the credentials', async () => {
  const secure = registries[1]!;
  const ca = readFileSync(secure.certFile!, 'utf8');
  const creds = { username: 'tester', password: 'secret-pw' };
  await assert.rejects(spool({ registry: secure.host, credentials: creds }, `private/app:${image.tag}`), (err: Error) => isCanopyError(err, 'ERR_OCI_UPSTREAM') && /certificate/i.test(err.message));
  await assert.rejects(spool({ registry: secure.host, ca }, `private/app:${image.tag}`), /answered 401 UNAUTHORIZED/);
  await assert.rejects(spool({ registry: secure.host, ca, credentials: { ...creds, password: 'wrong' } }, `private/app:${image.tag}`), /answered 401/);
  const s = await spool({ registry: secure.host, ca, credentials: creds }, `private/app:${image.tag}`, 'linux/amd64');
  assert.equal(s.index.digest, image.digest);
});
