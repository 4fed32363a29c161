/**
 * Authorised publishers, between real node processes: the root refuses a publish signed by a
 * key it has not authorised (with ERR_PUBLISHER_NOT_AUTHORISED, keeping nothing of it, even
 * when the client lies about its key up front); `canopy publishers add` lets that key publish
 * and every node receives the content; announcements flooded by an insider that are signed
 * by an unauthorised key, altered or unsigned are dropped and logged by every node (one from a
 * key authorised just after it arrived is accepted then); after
 * `canopy publishers remove`, the key's new publishes are refused and its announcements
 * dropped, while what it published before stays.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCanopyError } from '../../src/core/errors.js';
import { contentIdOf, type Manifest } from '../../src/core/manifest.js';
import { signManifest } from '../../src/core/manifest-signature.js';
import { LocalNetwork, type RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { publishFile } from '../../src/client/publish-file.js';
import { createKeyFile, type PublisherKey } from '../../src/ingest/publisher-key.js';
import { encodeTreeMessage } from '../../src/tree/tree-codec.js';
import { credentialsOf, dialAs } from '../helpers/peer-as.js';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

const SIZE = 3 * 2 ** 20;


describe('authorised publishers between real node processes', () => {
  const dir = tempDir('canopy-pub6-');
  const network = new LocalNetwork(path.join(dir.path, 'net'));
  let a: RunningNode;
  let b: RunningNode;
  let alice: PublisherKey;
  let mallory: PublisherKey;
  let firstId = '';
  let sample = 0;

  const file = async () => {
    const f = path.join(dir.path, `payload-${++sample}.bin`);
    await writeSample(f, SIZE, `publishers-${sample}`);
    return f;
  };
  const publishAs = (key: PublisherKey, f: string) => runCli(['publish', f, '--key', key.path, '--block-size', '1MiB', '--to', network.root!.api, '--json']);
  const knows = async (node: RunningNode, id: string) => (await network.api(node).get(`/api/contents/${id}`).then(() => true).catch(() => false));
  const complete = async (node: RunningNode, id: string) => (await network.api(node).get<{ local: { complete: boolean } }>(`/api/contents/${id}`).catch(() => undefined))?.local.complete === true;
  const rootBlocks = async () => (await network.rootApi.get<{ store: { blocks: number } }>('/api/node')).store.blocks;
  const log = (node: RunningNode) => readFileSync(path.join(node.dataDir, 'node.log'), 'utf8');

  /** Floods an announcement into node `to` from an enrolled insider (`as`), claiming the root as its origin. */
  async function floodAnnouncement(as: RunningNode, to: RunningNode, contentId: string, manifest: unknown): Promise<void> {
    const creds = credentialsOf(as.dataDir);
    const conn = await dialAs(creds, to.peer, creds.record);
    try {
      const m = encodeTreeMessage({ k: 'flood', id: `announce:${contentId}`, origin: network.root!.nodeId, payload: { type: 'announce', contentId, manifest } });
      await conn.notify('tree', { from: { id: as.nodeId, addr: `${as.peer.host}:${as.peer.port}` }, m });
      await conn.request('ping', {});
    } finally {
      conn.destroy();
    }
  }

  before(async () => {
    await network.start([
      { name: 'a', attrs: { region: 'eu' } },
      { name: 'b', attrs: { region: 'eu' } },
    ]);
    [a, b] = network.nodes as [RunningNode, RunningNode];
    alice = createKeyFile(path.join(dir.path, 'alice.json'));
    mallory = createKeyFile(path.join(dir.path, 'mallory.json'));
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('refuses a publish signed by a key the root has not authorised, and keeps nothing of it', async () => {
    const before = await rootBlocks();
    const refused = await publishAs(alice, await file());
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /ERR_PUBLISHER_NOT_AUTHORISED/);
    assert.ok(refused.stderr.includes(alice.publicKey), refused.stderr);
    // A client that names an authorised key up front but signs with another: refused on the manifest, after every block was sent.
    const liar = { ...alice, publicKey: (await network.rootApi.get<{ publishers: { key: string }[] }>('/api/publishers')).publishers[0]!.key };
    await assert.rejects(publishFile(network.rootApi, await file(), { criteria: '*', key: liar, blockSize: 2 ** 20 }), (err) => isCanopyError(err, 'ERR_PUBLISHER_NOT_AUTHORISED') && err.message.includes(alice.publicKey));
    assert.equal(await rootBlocks(), before, 'no block of either publish is kept');
    assert.equal((await network.rootApi.get<{ contents: unknown[] }>('/api/contents')).contents.length, 0);
  });

  it('publishes once "canopy publishers add" authorised the key, and every node receives it', async () => {
    const added = await runCli(['publishers', 'add', '--key', alice.path, '--name', 'alice', '--to', network.root!.api, '--json']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(lastJson<{ key: string }>(added.stdout).key, alice.publicKey);
    const listed = await runCli(['publishers', 'list', '--to', network.root!.api, '--json']);
    const keys = lastJson<{ publishers: { key: string; name: string }[] }>(listed.stdout).publishers;
    assert.ok(keys.some((p) => p.key === alice.publicKey && p.name === 'alice'), listed.stdout);
    const published = await publishAs(alice, await file());
    assert.equal(published.code, 0, published.stderr);
    firstId = lastJson<{ contentId: string }>(published.stdout).contentId;
    await until('both nodes complete', async () => ((await complete(a, firstId)) && (await complete(b, firstId)) ? true : undefined));
  });

  it('drops announcements that are signed by an unauthorised key, altered or unsigned, and logs them', async () => {
    const real = await network.rootApi.get<Manifest>(`/api/contents/${firstId}/manifest`);
    const { signature: _s, publisher: _p, ...unsigned } = real;
    const byMallory = signManifest({ ...unsigned, name: 'from-mallory.bin' }, mallory.privateKey);
    const altered = { ...real, name: 'altered.bin' };
    const { signature: _drop, ...noSignature } = { ...real, name: 'unsigned.bin' };
    const forged = [
      { why: 'unauthorised', manifest: byMallory, id: contentIdOf(byMallory) },
      { why: 'altered', manifest: altered, id: contentIdOf(altered) },
      { why: 'unsigned', manifest: noSignature, id: contentIdOf(noSignature as unknown as Manifest) },
    ];
    for (const f of forged) await floodAnnouncement(b, a, f.id, f.manifest);
    await until('node a to log every drop', async () => (forged.every((f) => log(a).includes(f.id)) ? true : undefined));
    const lines = log(a).split('\n');
    const line = (id: string) => lines.find((l) => l.includes(id) && l.includes('"level":"warn"')) ?? '';
    assert.match(line(forged[0]!.id), /publisher key the root has not authorised/);
    assert.ok(line(forged[0]!.id).includes(mallory.publicKey), line(forged[0]!.id));
    assert.match(line(forged[1]!.id), /dropped invalid announcement/);
    assert.match(line(forged[1]!.id), /signature does not verify/);
    assert.ok(line(forged[1]!.id).includes(alice.publicKey));
    assert.match(line(forged[2]!.id), /dropped invalid announcement/);
    for (const f of forged) for (const node of [a, b]) assert.equal(await knows(node, f.id), false, `${node.name} must not know the ${f.why} content`);
    // The list travels root → node directly and announcements over the tree, so one may overtake the other: a node
    // keeps recent announcements from unknown keys and judges them again when a newer list authorises their key.
    const added = await runCli(['publishers', 'add', mallory.publicKey, '--to', network.root!.api]);
    assert.equal(added.code, 0, added.stderr);
    await until('node a to accept the held announcement', async () => ((await knows(a, forged[0]!.id)) ? true : undefined));
    for (const f of forged.slice(1)) assert.equal(await knows(a, f.id), false, `the ${f.why} content stays dropped`);
    const removed = await runCli(['publishers', 'remove', mallory.publicKey, '--to', network.root!.api]);
    assert.equal(removed.code, 0, removed.stderr);
  });

  it('keeps the publisher routes to admin tokens, on the root, and documents them', async () => {
    const { token } = await network.rootApi.postJson<{ token: string }>('/api/api-tokens', { scopes: 'read,publish', label: 'publisher-test' });
    const asPublisher = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    for (const [url, init] of [
      [`${network.root!.api}/api/publishers`, {}],
      [`${network.root!.api}/api/publishers`, { method: 'POST', body: JSON.stringify({ key: mallory.publicKey }) }],
    ] as const) {
      const res = await asPublisher(url, init);
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ERR_SCOPE');
    }
    const onNode = await runCli(['publishers', 'list', '--to', a.api]);
    assert.notEqual(onNode.code, 0);
    assert.match(onNode.stderr, /ERR_USAGE.*not the root/);
    const bad = await runCli(['publishers', 'add', 'not-a-key', '--to', network.root!.api]);
    assert.match(bad.stderr, /ERR_KEY_INVALID/);
    const doc = (await network.rootApi.get<{ paths: Record<string, unknown> }>('/openapi.json')).paths;
    for (const p of ['/api/publishers', '/api/publishers/{key}/remove']) assert.ok(doc[p], p);
  });

  it('after "canopy publishers remove", refuses new publishes with the key and drops its announcements; its contents stay', async () => {
    const removed = await runCli(['publishers', 'remove', alice.publicKey, '--to', network.root!.api, '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    const refused = await publishAs(alice, await file());
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /ERR_PUBLISHER_NOT_AUTHORISED/);
    // A validly signed announcement by the removed key, flooded by an insider: every node now drops it.
    const real = await network.rootApi.get<Manifest>(`/api/contents/${firstId}/manifest`);
    const { signature: _s, publisher: _p, ...unsigned } = real;
    const late = signManifest({ ...unsigned, name: 'after-removal.bin' }, alice.privateKey);
    const lateId = contentIdOf(late);
    // Earlier tests changed the list as well (its length went 1, 2, 3, 2): wait until node a's latest update has the
    // root's new length, which only this removal gives it.
    const rootList = await network.rootApi.get<{ publishers: unknown[] }>('/api/publishers');
    const latestLength = () => {
      const updates = log(a).split('\n').filter((l) => l.includes('authorised publishers updated'));
      return updates.length ? (JSON.parse(updates.at(-1)!) as { publishers?: number }).publishers : undefined;
    };
    await until('node a to hold the new list', async () => (latestLength() === rootList.publishers.length ? true : undefined));
    await floodAnnouncement(b, a, lateId, late);
    await until('node a to log the drop', async () => (log(a).includes(lateId) ? true : undefined));
    assert.equal(await knows(a, lateId), false);
    // Not retroactive: what the key published before stays on the nodes.
    assert.ok(await complete(a, firstId));
    assert.ok(await complete(b, firstId));
    const rootKeys = await runCli(['publishers', 'list', '--to', network.root!.api, '--json']);
    assert.ok(!lastJson<{ publishers: { key: string }[] }>(rootKeys.stdout).publishers.some((p) => p.key === alice.publicKey));
  });
});
