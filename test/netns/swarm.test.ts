/**
 * Swarm download over real shaped links: a root (the origin) and five nodes, each in its
 * own network namespace with a 40 Mbit/s link. Every node ends with the exact bytes, and
 * nodes still downloading serve each other: the origin sends far less than one copy per node.
 * Over a shaped link a block arrives over hundreds of milliseconds, so blocks are relayed
 * while still arriving (cut-through): about half the bytes in the swarm bench, never none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeSample } from '../../src/demo/sample.js';
// Sets the tests' own publisher key (CANOPY_KEY) on import: the user's is never touched.
import '../helpers/cli.js';
import { keptOnFailure } from '../helpers/temp-dirs.js';
import { CanopyCluster } from './canopy-cluster.js';
import { NetnsHarness } from './harness.js';

const SIZE = 48 * 2 ** 20;
const NODES = 5;

describe('swarm download between namespaces', () => {
  const dir = keptOnFailure('canopy-i5-swarm-');
  let harness: NetnsHarness;
  let cluster: CanopyCluster;
  let sha = '';
  const file = `${dir.path}/payload.bin`;

  before(async () => {
    harness = NetnsHarness.create([{ name: 'root', up: '40mbit' }, ...Array.from({ length: NODES }, (_, i) => ({ name: `n${i + 1}`, up: '40mbit' }))]);
    cluster = new CanopyCluster(harness, `${dir.path}/net`);
    await cluster.start();
    sha = await writeSample(file, SIZE, 'swarm-netns');
  });
  after(async () => {
    await harness?.stop();
    dir.removeIfPassed();
  });

  it('delivers verified content to every qualified node, peers uploading to each other', async () => {
    const before = harness.txBytes(cluster.root.host);
    const contentId = cluster.publish(file, { blockSize: '1MiB' });
    // Polled as the swarm bench polls (one long-lived process in the root's namespace).
    const poller = cluster.statusPoller(contentId, 250);
    await cluster.waitComplete(contentId, { timeoutMs: 240_000, poller }).finally(() => poller.stop());
    assert.ok(poller.answerMs.length > 0 && poller.answerMs.every((ms) => ms > 0), `poll times: ${poller.answerMs.join(',')}`);
    for (const name of cluster.nodes.keys()) assert.equal(cluster.servedSha256(name, contentId), sha, `${name} serves different bytes`);
    const originSent = harness.txBytes(cluster.root.host) - before;
    // With no peer-to-peer upload the origin would send NODES copies.
    assert.ok(originSent < SIZE * (NODES - 1), `origin sent ${(originSent / SIZE).toFixed(2)} copies`);
    const peerSent = harness.hosts.slice(1).map((h) => harness.txBytes(h));
    assert.ok(peerSent.filter((b) => b > SIZE / 4).length >= 2, `peers uploaded too little: ${peerSent.join(',')}`);
    const relayed = [...cluster.nodes.keys()].reduce((sum, name) => sum + cluster.metric(name, 'canopy_swarm_relayed_bytes_total'), 0);
    assert.ok(relayed > 0, 'no block was relayed while still arriving');
  });
});
