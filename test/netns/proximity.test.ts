/**
 * Nearest peers first: three complete holders, one of them made 300 ms farther away by
 * emulated delay (this kernel has no netem; see emulated-delay.ts), and a new node with a
 * short request pipeline. It measures round trips and fetches from the near holders, not
 * the far one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeSample } from '../../src/demo/sample.js';
// Sets the tests' own publisher key (CANOPY_KEY) on import: the user's is never touched.
import '../helpers/cli.js';
import { keptOnFailure } from '../helpers/temp-dirs.js';
import { CanopyCluster } from './canopy-cluster.js';
import { NetnsHarness } from './harness.js';

const SIZE = 24 * 2 ** 20;

describe('nearest holder first', () => {
  const dir = keptOnFailure('canopy-i5-near-');
  let harness: NetnsHarness;
  let cluster: CanopyCluster;
  let sha = '';
  const file = `${dir.path}/payload.bin`;

  before(async () => {
    harness = NetnsHarness.create(['root', 'near', 'far', 'new'].map((name) => ({ name, up: '40mbit' })));
    cluster = new CanopyCluster(harness, `${dir.path}/net`);
    cluster.delays.set('far', 300);
    // Holders report their real cap, so a holder not yet measured is not mistaken for a faster one.
    await cluster.start(() => ['--attr', 'role=holder', '--upload-cap', '40mbit'], (h) => h.name !== 'new');
    sha = await writeSample(file, SIZE, 'proximity');
  });
  after(async () => {
    await harness?.stop();
    dir.removeIfPassed();
  });

  it('a new node fetches from near holders rather than a far one', async (t) => {
    const contentId = cluster.publish(file, { blockSize: '1MiB', criteria: 'role=holder' });
    await cluster.waitComplete(contentId, { timeoutMs: 120_000 });
    const sent = () => Object.fromEntries(['root', 'near', 'far'].map((n) => [n, harness.txBytes(harness.host(n))]));
    const before = sent();
    await cluster.startNode(harness.host('new'), ['--join', cluster.root.peer, '--attr', 'role=holder', '--concurrency', '2']);
    await cluster.waitComplete(contentId, { timeoutMs: 120_000, include: ['new'] });
    assert.equal(cluster.servedSha256('new', contentId), sha);
    const after = sent();
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
    t.diagnostic(`bytes sent to the new node: ${JSON.stringify(delta)}`);
    assert.ok(delta.far! < 0.25 * (delta.near! + delta.root!), `far sent ${delta.far}, near ${delta.near}, root ${delta.root}`);
  });
});
