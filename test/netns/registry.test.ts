/**
 * Eight hosts pull one image at the same moment, each through its own node, over shaped
 * links: Debian's docker-registry runs in its own namespace. First an image preheated once,
 * then a cold one pulled through (the root has the registry as its upstream; no node holds
 * the image): eight `skopeo copy` run at once, one per namespace. Every host gets the exact
 * layers, and the registry's own log shows each blob was read from it once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
// Sets the tests' own publisher key (CANOPY_KEY) on import: the user's is never touched.
import '../helpers/cli.js';
import { keptOnFailure } from '../helpers/temp-dirs.js';
import { buildImage, fileDigest, pushImage, startRegistry, type RunningRegistry, type TestImage } from '../helpers/oci-registry.js';
import { CanopyCluster } from './canopy-cluster.js';
import { NetnsHarness, type Host } from './harness.js';
import { waitFor } from '../helpers/wait.js';

const NODES = 8;

describe('registry mirror between namespaces', () => {
  const dir = keptOnFailure('canopy-i21-registry-');
  let harness: NetnsHarness;
  let cluster: CanopyCluster;
  let registry: RunningRegistry;
  let image: TestImage;
  let cold: TestImage;
  let regHost: Host;

  before(async () => {
    harness = NetnsHarness.create([{ name: 'root', up: '100mbit' }, ...Array.from({ length: NODES }, (_, i) => ({ name: `n${i + 1}`, up: '100mbit' })), { name: 'reg', up: '100mbit' }]);
    regHost = harness.host('reg');
    cluster = new CanopyCluster(harness, `${dir.path}/net`);
    // The root pulls team/pt through from the registry (at its known address) for every node.
    const rootConfig = path.join(dir.path, 'root.yaml');
    writeFileSync(rootConfig, `registry:\n  upstreams:\n    - { host: "${regHost.ip}:5000", insecure: true }\n  repositories:\n    - { pattern: "${regHost.ip}:5000/team/pt" }\n`);
    await cluster.start((h) => (h.name === 'root' ? ['--config', rootConfig] : []), (h) => h.name === 'n1');
    // The others one after another: nine node processes starting at once can miss the ready timeout on a busy machine.
    for (const h of harness.hosts.filter((x) => x.name !== 'root' && x.name !== 'n1' && x.name !== 'reg')) await cluster.startNode(h, ['--join', cluster.root.peer]);
    await waitFor('every node to join', async () => cluster.getJson<{ nodes: unknown[] }>(cluster.root.host, `${cluster.root.api}/api/nodes`).nodes.length >= NODES);
    registry = await startRegistry(path.join(dir.path, 'registry'), { ip: regHost.ip, port: 5000, spawn: (argv) => harness.spawn(regHost, argv, { stdio: ['ignore', 'ignore', 'pipe'] }) });
    image = await buildImage(path.join(dir.path, 'layout'), { layerSizes: [3 * 2 ** 20, 2 * 2 ** 20, 1 * 2 ** 20] });
    await pushImage(image, registry, 'team/app', undefined, (argv) => ['ip', 'netns', 'exec', regHost.ns, ...argv]);
    // A 9 MiB layer: over the size at which one node is relayed to and the others follow its content.
    cold = await buildImage(path.join(dir.path, 'cold'), { layerSizes: [9 * 2 ** 20, 1 * 2 ** 20] });
    await pushImage(cold, registry, 'team/pt', undefined, (argv) => ['ip', 'netns', 'exec', regHost.ns, ...argv]);
  });
  after(async () => {
    await harness?.stop();
    dir.removeIfPassed();
  });

  /** Eight `skopeo copy` at once, each in a node's namespace through its own node: exact layers everywhere, each blob read from the registry once. */
  async function pullEverywhere(repo: string, img: TestImage): Promise<void> {
    const pulls = [...cluster.nodes.values()].filter((n) => n !== cluster.root).map((node) => {
      const target = path.join(dir.path, `pulled-${repo.replace('/', '-')}-${node.host.name}`);
      return new Promise<string>((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', node.host.ns, 'skopeo', 'copy', '--src-tls-verify=false', `docker://${new URL(node.http).host}/${repo}:${img.tag}`, `oci:${target}:x`], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('close', (code) => (code === 0 ? resolve(target) : reject(new Error(`skopeo in ${node.host.name}: ${err}`))));
      });
    });
    assert.equal(pulls.length, NODES);
    for (const target of await Promise.all(pulls)) {
      assert.equal((JSON.parse(readFileSync(path.join(target, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest, img.digest);
      for (const layer of img.platforms['linux/amd64']!.layers) assert.equal(fileDigest(path.join(target, 'blobs', 'sha256', layer.digest.slice(7))), layer.digest);
    }
    const reads = new Map<string, number>();
    for (const r of registry.requests({ method: 'GET', path: new RegExp(`/${repo}/blobs/`) })) reads.set(r.uri, (reads.get(r.uri) ?? 0) + 1);
    const blobs = [...img.blobs.keys()].filter((d) => d !== img.digest);
    assert.deepEqual(blobs.map((d) => reads.get(`/v2/${repo}/blobs/${d}`) ?? 0), blobs.map(() => 1), 'each config and layer read from the registry exactly once');
  }

  it('8 nodes pull the same image at once; the registry serves each blob once', async () => {
    const out = cluster.cli(cluster.root.host, ['publish', `oci://${registry.host}/team/app:${image.tag}`, '--insecure-registry', '--criteria', '*', '--to', cluster.root.api, '--json']).trim().split('\n');
    const contentId = (JSON.parse(out[out.length - 1]!) as { contentId: string }).contentId;
    await cluster.waitComplete(contentId, { timeoutMs: 240_000 });
    await pullEverywhere('team/app', image);
  });

  it('8 nodes pull an image no node holds at once, through the root; the registry serves each blob once', async () => {
    await pullEverywhere('team/pt', cold);
  });
});
