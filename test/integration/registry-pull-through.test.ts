/**
 * Pull-through with real parts: Debian's docker-registry upstream on loopback, the root
 * configured with it (and a hostile registry) as upstreams, skopeo and containerd as
 * clients. Concurrent pulls through several nodes cause one upstream fetch per blob (the
 * registry's own log says so); the blobs become contents, so a later pull touches the
 * registry for nothing; a node outside the repository rule's criteria is a mirror without
 * the image; upstream errors come back as OCI error bodies.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { runCommand, tempDir } from '../helpers/cli.js';
import { holding, startNetwork } from '../helpers/edge-network.js';
import { buildImage, fileDigest, pushImage, startHostileRegistry, startRegistry, type RunningRegistry, type TestImage } from '../helpers/oci-registry.js';
import { waitFor } from '../helpers/wait.js';
import { apiFetch } from '../helpers/api-fetch.js';
import { startContainerd } from '../helpers/containerd.js';

describe('registry pull-through', () => {
  const dir = tempDir('canopy-pull-through-');
  let registry: RunningRegistry;
  let hostile: { host: string; close: () => Promise<void> };
  let image: TestImage;
  let network: LocalNetwork;
  let a1: RunningNode;
  let a2: RunningNode;
  let b1: RunningNode;

  before(async () => {
    // A 9 MiB layer crosses the 4 MiB reply size (relayed in several chunks) and FOLLOW_MIN_BYTES (one node is relayed to, the others follow its content).
    image = await buildImage(path.join(dir.path, 'layout'), { layerSizes: [9 * 2 ** 20, 512 * 1024] });
    registry = await startRegistry(path.join(dir.path, 'registry'));
    await pushImage(image, registry, 'team/app');
    hostile = await startHostileRegistry(registry);
    const config = path.join(dir.path, 'root.yaml');
    writeFileSync(
      config,
      [
        'registry:',
        '  tagCacheSeconds: 600',
        '  upstreams:',
        `    - { host: "${registry.host}", insecure: true }`,
        `    - { host: "${hostile.host}", insecure: true, timeoutSeconds: 3 }`,
        // A registry name reached at another address (a mirror of it, or Docker Hub's API host).
        `    - { host: "mirror.example:5000", endpoint: "http://${registry.host}" }`,
        '  repositories:',
        `    - { pattern: "${registry.host}/team/*", criteria: "pool=a" }`,
        `    - { pattern: "${hostile.host}/*" }`,
        '    - { pattern: "mirror.example:5000/team/*" }',
        '',
      ].join('\n'),
    );
    network = await startNetwork(path.join(dir.path, 'net'), ['--config', config, '--attr', 'pool=a'], [
      { spec: { name: 'a1', attrs: { pool: 'a' } }, args: [] },
      { spec: { name: 'a2', attrs: { pool: 'a' } }, args: [] },
      { spec: { name: 'b1', attrs: { pool: 'b' } }, args: [] },
    ]);
    [a1, a2, b1] = network.nodes as [RunningNode, RunningNode, RunningNode];
  });
  after(async () => {
    await network?.stop();
    await hostile?.close();
    await registry?.stop();
    dir.remove();
  });

  const blobGets = (digest: string) => registry.requests({ method: 'GET', path: /\/team\/app\/blobs\// }).filter((r) => r.uri.endsWith(digest)).length;
  const layers = () => image.platforms['linux/amd64']!.layers;

  async function skopeo(node: RunningNode, name: string): Promise<void> {
    const target = path.join(dir.path, name);
    const r = await runCommand('skopeo', ['copy', '--src-tls-verify=false', `docker://${new URL(node.http).host}/team/app:${image.tag}`, `oci:${target}:x`]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal((JSON.parse(readFileSync(path.join(target, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest, image.digest);
    for (const layer of layers()) assert.equal(fileDigest(path.join(target, 'blobs', 'sha256', layer.digest.slice(7))), layer.digest);
  }

  it('concurrent pulls through three nodes fetch each blob from the registry once; the blobs become contents', async () => {
    await Promise.all([skopeo(a1, 'pull-a1'), skopeo(a2, 'pull-a2'), skopeo(network.root!, 'pull-root')]);
    const blobs = [image.platforms['linux/amd64']!.config, ...layers().map((l) => l.digest)];
    assert.deepEqual(blobs.map(blobGets), blobs.map(() => 1), 'each config and layer read from the registry exactly once');
    assert.equal(registry.requests({ method: 'GET', path: /\/team\/app\/manifests\/v1$/ }).length, 1, 'the tag resolved upstream once');
    const listed = async () => ((await (await apiFetch(`${network.root!.api}/api/contents`)).json()) as { contents: { contentId: string; name: string; criteria: string; placement: string }[] }).contents.filter((c) => c.name.startsWith(`${registry.host}~team~app:`));
    await waitFor('the pulled blobs to be published as contents', async () => {
      const contents = await listed();
      return blobs.every((d) => contents.some((c) => c.name === `${registry.host}~team~app:${d.slice(7, 19)}`));
    });
    // Each carries its repository rule's criteria and placement (the default, on-demand: `full`
    // here cost CI ~2 s, the bench runs it): b1 (pool=b) holds none of them.
    const contents = await listed();
    assert.deepEqual([...new Set(contents.map((c) => `${c.criteria} ${c.placement}`))], ['pool=a on-demand']);
    for (const c of contents) assert.equal((await holding(b1, c.contentId)).haveBlocks, 0, 'b1 (pool=b) holds no block of them');
    // The big layer went out of the root once (to the first asker); the two others served it from its content.
    const followed = readFileSync(path.join(network.root!.dataDir, 'node.log'), 'utf8').split('\n').filter((l) => l.includes('pull-through blob followed') && l.includes(layers()[0]!.digest));
    assert.equal(new Set(followed.map((l) => (JSON.parse(l) as { asker: string }).asker)).size, 2, 'two of the three askers followed the content');
  });

  it('a later pull through another node (containerd, with ns=) touches the registry for nothing', async () => {
    const before = registry.requests().length;
    const ctrd = await startContainerd(path.join(dir.path, 'containerd'));
    try {
      ctrd.hosts(registry.host, `http://${registry.host}`, [`http://${new URL(a2.http).host}`]);
      const r = await ctrd.pull(`${registry.host}/team/app:${image.tag}`, 'linux/amd64');
      assert.equal(r.code, 0, r.stderr + r.stdout);
    } finally {
      await ctrd.stop();
    }
    assert.deepEqual(registry.requests().slice(before).map((r) => `${r.method} ${r.uri}`), [], 'the tag came from the root, the blobs from the network');
    // Served from the blob's content (the root's relay sends whole blobs only): a range is a 206 of the right bytes.
    const layer = layers()[0]!;
    const res = await fetch(`${a2.http}/v2/team/app/blobs/${layer.digest}`, { headers: { range: 'bytes=100-199' } });
    assert.equal(res.status, 206);
    const whole = readFileSync(path.join(image.layout, 'blobs', 'sha256', layer.digest.slice(7)));
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(whole.subarray(100, 200)));
  });

  it('a node outside the rule criteria is a mirror without the image', async () => {
    const before = registry.requests().length;
    for (const [p, code] of [[`/v2/team/app/manifests/${image.tag}`, 'MANIFEST_UNKNOWN'], [`/v2/team/app/blobs/${layers()[1]!.digest}`, 'BLOB_UNKNOWN']] as const) {
      const res = await fetch(`${b1.http}${p}`);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, code);
    }
    assert.equal(registry.requests().length, before, 'nothing was asked upstream for it');
  });

  it('maps upstream failures to OCI errors and keeps nothing of a blob with wrong bytes', async () => {
    const at = (p: string, ns = hostile.host) => fetch(`${a1.http}${p}${p.includes('?') ? '&' : '?'}ns=${ns}`);
    const errorOf = async (res: Response) => [res.status, ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, res.headers.get('retry-after')];
    assert.deepEqual(await errorOf(await at('/v2/team/app/manifests/nope', registry.host)), [404, 'MANIFEST_UNKNOWN', null]);
    assert.deepEqual(await errorOf(await at('/v2/other/app/manifests/v1', registry.host)), [404, 'MANIFEST_UNKNOWN', null], 'no rule covers other/app');
    assert.deepEqual(await errorOf(await at('/v2/status429/team/app/manifests/v1')), [429, 'TOOMANYREQUESTS', '30']);
    assert.deepEqual(await errorOf(await at('/v2/status500/team/app/manifests/v1')), [503, 'UNAVAILABLE', null]);
    assert.deepEqual(await errorOf(await at('/v2/status401/team/app/manifests/v1')), [503, 'UNAVAILABLE', null], 'the root has no credentials the registry takes');
    assert.deepEqual(await errorOf(await at('/v2/huge/team/app/manifests/v1')), [503, 'UNAVAILABLE', null], 'a manifest over 4 MiB is refused, not relayed');
    assert.deepEqual(await errorOf(await at('/v2/silent/team/app/manifests/v1')), [503, 'UNAVAILABLE', null]);
    const wrong = await at(`/v2/wrong/team/app/blobs/${layers()[1]!.digest}`);
    // The root holds the last byte back until the digest is checked: the client never gets a whole wrong blob.
    const whole = wrong.status === 200 ? await wrong.arrayBuffer().then((b) => b.byteLength === layers()[1]!.size, () => false) : false;
    assert.equal(whole, false, 'the blob with wrong bytes was cut off or refused');
    await new Promise((r) => setTimeout(r, 500));
    const { contents } = (await (await apiFetch(`${network.root!.api}/api/contents`)).json()) as { contents: { name: string }[] };
    assert.ok(!contents.some((c) => c.name.includes('~wrong~')), 'nothing was published from the wrong bytes');
  });

  it("an upstream's endpoint is where its registry name is fetched from", async () => {
    const before = registry.requests({ method: 'GET', path: /\/team\/app\/manifests\/v1$/ }).length;
    const res = await fetch(`${a1.http}/v2/team/app/manifests/${image.tag}?ns=mirror.example:5000`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('docker-content-digest'), image.digest);
    assert.equal(registry.requests({ method: 'GET', path: /\/team\/app\/manifests\/v1$/ }).length, before + 1, 'asked at the endpoint');
  });
});
