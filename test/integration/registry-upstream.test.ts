/**
 * The upstream the registry tests rely on: Debian's Distribution registry on loopback,
 * holding a multi-platform image built and pushed by test/helpers/oci-registry.ts, read back
 * with skopeo (plain HTTP, then TLS with basic auth).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCommand, tempDir } from '../helpers/cli.js';
import { buildImage, fileDigest, pushImage, startRegistry, type RunningRegistry, type TestImage } from '../helpers/oci-registry.js';

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
