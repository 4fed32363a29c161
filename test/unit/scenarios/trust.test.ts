/**
 * Policy scenarios on an in-process cluster (test/helpers/cluster.ts): real nodes, real TLS
 * on loopback, the admin API called with inject(). One cluster for all (its start is most of
 * the time), so unrelated scenarios share it: the last two are issue 25's (a retired content
 * leaves nothing behind in a member's memory but its catalog record; a member retires at its
 * next join what the root no longer lists once the root has pruned its withdrawal).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPublicKey, randomBytes } from 'node:crypto';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { contentIdOf } from '../../../src/core/manifest.js';
import { publicKeyText } from '../../../src/core/manifest-signature.js';
import { makeManifest } from '../../helpers/manifests.js';
import { startCluster, type Cluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { pruneHistory } from '../../../src/catalog/history-retention.js';
import { UNLISTED_REASON } from '../../../src/node/unlisted-contents.js';

describe('scenario: publisher list', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ eu1: { region: 'eu' } });
  });
  after(() => cluster?.stop());

  it('holds an announcement signed by a key not yet in the list until the list arrives', async () => {
    const privateKey = newEd25519PrivateKey();
    const publicKey = createPublicKey(privateKey);
    const eu1 = cluster.member('eu1');
    await waitFor('eu1 to sync the catalog', async () => eu1.c.intake.synced, 10_000);
    const manifest = makeManifest({ size: 100, blockSize: 64, tracks: [{ offset: 0, length: 100 }] }, privateKey, { criteria: 'region=us', origin: cluster.root.identity.nodeId });
    const id = contentIdOf(manifest);
    cluster.root.c.root!.service.announce(id, manifest);
    await waitFor('eu1 to hold the announcement', async () => eu1.c.intake.held.size === 1, 10_000);
    assert.equal(eu1.c.catalog.get(id), undefined);

    const added = await cluster.api(cluster.root, { method: 'POST', url: '/api/publishers', body: { key: publicKeyText(publicKey), name: 'late' } });
    assert.equal(added.status, 200, added.body.toString());
    await waitFor('eu1 to accept it with the new list', async () => eu1.c.catalog.get(id) !== undefined, 10_000);
    assert.equal(eu1.c.intake.held.size, 0);
  });

  it('lists the publisher keys on the root and refuses the list on a member', async () => {
    const list = await cluster.api(cluster.root, { url: '/api/publishers' });
    assert.equal(list.status, 200);
    assert.ok(list.json<{ publishers: unknown[] }>().publishers.length >= 2);
    const onMember = await cluster.api(cluster.member('eu1'), { url: '/api/publishers' });
    assert.equal(onMember.status, 400);
    assert.equal(onMember.json<{ error: { code: string } }>().error.code, 'ERR_USAGE');
  });

  it('an attribute change set on the root reaches the member, which re-judges what it qualifies for', async () => {
    const eu1 = cluster.member('eu1');
    const set = await cluster.api(cluster.root, { method: 'POST', url: '/api/nodes/eu1/attributes', body: { attrs: 'region=us' } });
    assert.equal(set.status, 200, set.body.toString());
    await waitFor('eu1 to see its new attributes', async () => eu1.identity.attrs.region === 'us', 10_000);
    // The held content above (criteria region=us) is now one eu1 qualifies for.
    assert.ok(eu1.c.catalog.list().some((c) => eu1.c.self().attrs.region === 'us' && c.manifest.criteria === 'region=us'));
  });

  // Before, the downloader's bytes received and stuck reason and the holdings' bitfield, stuck
  // reason and last progress report stayed for every content ever fetched: a node that ran
  // for months grew with every publish.
  it('a withdrawn content leaves no download or holdings state on a member', async () => {
    const eu1 = cluster.member('eu1');
    await waitFor('eu1 to sync the catalog', async () => eu1.c.intake.synced, 10_000);
    const ids: string[] = [];
    for (const name of ['a.bin', 'b.bin']) {
      const res = await cluster.api(cluster.root, { method: 'POST', url: `/api/contents?name=${name}&blockSize=65536`, body: randomBytes(200_000) });
      assert.equal(res.status, 201, res.body.toString());
      ids.push(res.json<{ contentId: string }>().contentId);
    }
    await waitFor('eu1 to hold both', async () => ids.every((id) => eu1.c.catalog.get(id) !== undefined && eu1.c.catalog.holding(id).complete), 20_000);
    assert.ok(eu1.c.downloader.fetchedBytes(ids[0]!) > 0, 'the fetch was counted');
    assert.ok(eu1.c.holdings.keeps(ids[0]!), 'the holdings know it');

    const gone = await cluster.api(cluster.root, { method: 'POST', url: `/api/contents/${ids[0]}/withdraw` });
    assert.equal(gone.status, 200, gone.body.toString());
    await waitFor('eu1 to retire it', async () => eu1.c.catalog.state(ids[0]!) === 'withdrawn', 10_000);
    await eu1.c.lifecycle.idle();
    assert.equal(eu1.c.downloader.keeps(ids[0]!), false, 'the downloader forgot it');
    assert.equal(eu1.c.holdings.keeps(ids[0]!), false, 'the holdings forgot it');
    // A late progress report or stuck reason does not bring it back.
    eu1.c.holdings.reportProgress(ids[0]!, eu1.c.catalog.require(ids[0]!), false);
    eu1.c.holdings.onStuck(ids[0]!, { reason: 'no-peer', detail: 'late' });
    assert.equal(eu1.c.holdings.keeps(ids[0]!), false);
    // The live one keeps what it needs.
    assert.ok(eu1.c.downloader.fetchedBytes(ids[1]!) > 0);
  });

  // A member away for longer than the retention never gets the withdrawal (the root pruned
  // it): the sync's live list tells it instead. Here the member misses it without being away:
  // the root withdraws without flooding, then prunes, then the member rejoins.
  it('a member retires at its next join a content whose withdrawal the root has pruned', async () => {
    const eu1 = cluster.member('eu1');
    const root = cluster.root;
    const privateKey = newEd25519PrivateKey();
    const publicKey = createPublicKey(privateKey);
    const added = await cluster.api(root, { method: 'POST', url: '/api/publishers', body: { key: publicKeyText(publicKey), name: 'old-builds' } });
    assert.equal(added.status, 200, added.body.toString());
    const month = 30 * 86_400_000;
    const manifest = makeManifest({ size: 100, blockSize: 64, tracks: [{ offset: 0, length: 100 }] }, privateKey, { name: 'old.bin', criteria: 'region=mars', origin: root.identity.nodeId, createdAt: new Date(Date.now() - month).toISOString() });
    const id = contentIdOf(manifest);
    root.c.catalog.add(id, manifest);
    root.c.root!.service.announce(id, manifest);
    await waitFor('eu1 to know it as live', async () => eu1.c.catalog.isLive(id), 10_000);

    await root.c.lifecycle.withdraw(id, new Date(Date.now() - month / 2).toISOString(), 'old build');
    assert.deepEqual(pruneHistory(root.c.catalog, Date.now()).withdrawals, [id]);
    assert.equal(root.c.catalog.withdrawal(id), undefined, 'the root kept nothing of it');
    const stillLive = root.c.catalog.list().filter((c) => root.c.catalog.isLive(c.contentId)).map((c) => c.contentId);
    assert.ok(stillLive.length > 0);

    // The member's link to the root drops; it joins again and gets a sync without the content.
    (await eu1.c.pool.get(eu1.c.rootLink!.address)).destroy();
    await waitFor('eu1 to retire it', async () => eu1.c.catalog.withdrawal(id)?.reason === UNLISTED_REASON, 10_000);
    assert.equal(eu1.c.catalog.isLive(id), false);
    for (const live of stillLive) assert.ok(eu1.c.catalog.isLive(live), `eu1 keeps ${live.slice(0, 12)}, which the root lists`);
  });
});
