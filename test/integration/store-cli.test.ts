/**
 * The store's command-line surface run as a user would: option errors, and `store verify`
 * and `store stats --data` on a data directory whose block rotted on disk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256Hex } from '../../src/core/hash.js';
import { BlockStore, type StoreStats } from '../../src/store/block-store.js';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';

describe('canopy store and --volume on the command line', () => {
  const dir = tempDir('canopy-store-cli-');
  after(() => dir.remove());

  it('rejects a bad --volume and a bad --evict with a usage error naming the problem', async () => {
    const bad = await runCli(['node', '--root', '--data', dir.path, '--volume', `${dir.path}/v,weight=heavy`, '--api-port', '0', '--peer-port', '0', '--http-port', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ERR_USAGE.*weight "heavy"/);
    const evict = await runCli(['node', '--root', '--data', dir.path, '--evict', 'random', '--api-port', '0', '--peer-port', '0', '--http-port', '0']);
    assert.equal(evict.code, 1);
    assert.match(evict.stderr, /ERR_CONFIG_INVALID.*evictionPolicy/);
  });

  it('says clearly when --data is not a node data directory', async () => {
    const res = await runCli(['store', 'stats', '--data', path.join(dir.path, 'nothing-here')]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /canopy: error \[ERR_/);
  });

  it('verify finds a block that rotted on disk and exits 1; stats reads the index', async () => {
    const data = path.join(dir.path, 'node');
    const volumes = [0, 1].map((i) => ({ path: path.join(data, `v${i}`) }));
    const store = new BlockStore(data, volumes);
    const blocks = Array.from({ length: 6 }, () => randomBytes(64 * 1024));
    store.index.putContent({ id: 'c', name: 'c', created_at: '', manifest: JSON.stringify({ placement: 'full', blocks: blocks.map((b) => ({ hash: sha256Hex(b) })) }) });
    for (const [index, b] of blocks.entries()) await store.put(b, undefined, { stripe: 'c', index });
    store.close();
    const ok = await runCli(['store', 'verify', '--data', data, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(lastJson<{ verified: number }>(ok.stdout).verified, 6);
    const shard = readdirSync(path.join(volumes[0]!.path, 'blocks')).find((s) => readdirSync(path.join(volumes[0]!.path, 'blocks', s)).length > 0)!;
    const victim = readdirSync(path.join(volumes[0]!.path, 'blocks', shard))[0]!;
    writeFileSync(path.join(volumes[0]!.path, 'blocks', shard, victim), randomBytes(64 * 1024));
    const bad = await runCli(['store', 'verify', '--data', data, '--json']);
    assert.equal(bad.code, 1);
    assert.deepEqual({ ...lastJson<{ verified: number; unreadable: number; ok: boolean }>(bad.stdout) }, { ...lastJson(bad.stdout), ok: false, verified: 5, unreadable: 1 });
    const stats = await runCli(['store', 'stats', '--data', data, '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    const s = lastJson<StoreStats>(stats.stdout);
    assert.equal(s.blocks, 6, 'a reader never deletes: the writer drops the block when it meets it');
    assert.equal(s.volumes.length, 2);
  });
});
