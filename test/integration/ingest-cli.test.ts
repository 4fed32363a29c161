/**
 * `canopy ingest` and `canopy keys` as a user runs them, with no network: a sparse file is
 * stored over two volumes with its holes skipped, the summary names analyser, layout, block
 * size and reason; a node started on the same directories serves the exact bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';

/** Block files and packs of small blocks (this file's ingests have one small block at most, so one pack holds one block). */
function blockFiles(volume: string): number {
  return readdirSync(`${volume}/blocks`).reduce((n, shard) => n + readdirSync(`${volume}/blocks/${shard}`).length, readdirSync(`${volume}/packs`).length);
}

describe('canopy ingest and keys', () => {
  const dir = tempDir('canopy-i10-cli-');
  after(() => dir.remove());
  const key = `${dir.path}/k.json`;

  it('creates a key file (0600), refuses to overwrite it, and shows its public key', async () => {
    const c = await runCli(['keys', 'create', '--out', key, '--json']);
    assert.equal(c.code, 0, c.stderr);
    const { publicKey } = lastJson<{ publicKey: string }>(c.stdout);
    assert.match(publicKey, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const again = await runCli(['keys', 'create', '--out', key]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists.*--force/);
    const show = await runCli(['keys', 'show', '--key', key]);
    assert.equal(show.stdout.trim(), publicKey);
    writeFileSync(`${dir.path}/bad.json`, '{"kty":"RSA"}');
    const bad = await runCli(['ingest', key, '--volume', `${dir.path}/x`, '--key', `${dir.path}/bad.json`]);
    assert.match(bad.stderr, /ERR_KEY_INVALID.*bad\.json/);
  });

  it('ingests a sparse file into two volumes, skipping holes, and a node then serves it', async () => {
    const file = `${dir.path}/disk.img`;
    const bytes = Buffer.concat([Buffer.alloc(1 << 20), randomBytes(6 << 20), Buffer.alloc(4 << 20), randomBytes((2 << 20) + 123)]);
    writeFileSync(file, bytes);
    const v1 = `${dir.path}/data/v1`;
    const v2 = `${dir.path}/data/v2`;
    const r = await runCli(['ingest', file, '--volume', v1, '--volume', v2, '--data', `${dir.path}/data`, '--key', key, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = lastJson<{ contentId: string; analyser: string; linear: boolean; tracks: unknown[]; blockSize: number; blockSizeReason: string; blocks: number; holes: number; holeBytes: number }>(r.stdout);
    assert.equal(s.analyser, 'generic');
    assert.equal(s.linear, false);
    assert.equal(s.tracks.length, 2);
    assert.equal(s.holes, 2);
    assert.equal(s.holeBytes, 5 << 20);
    assert.equal(s.blockSize, 1 << 20);
    assert.match(s.blockSizeReason, /^length: /);
    assert.equal(s.blocks, 6 + 3);
    assert.equal(blockFiles(v1) + blockFiles(v2), 9);
    assert.ok(blockFiles(v1) > 0 && blockFiles(v2) > 0, 'blocks are spread over both volumes');

    const human = await runCli(['ingest', file, '--volume', `${dir.path}/h`, '--key', key]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /analysed as generic, not linear/);
    assert.match(human.stdout, /2 hole\(s\) skipped, 5\.0 MiB not stored/);

    const network = new LocalNetwork(`${dir.path}/net`);
    try {
      network.root = await network.spawnNode({ name: 'data', attrs: {} }, 0, ['--root', '--data', `${dir.path}/data`, '--volume', v1, '--volume', v2]);
      const out = `${dir.path}/back.img`;
      const curl = await runCommand('curl', ['-sS', '--fail', '-o', out, `${network.root.http}/content/${s.contentId}`]);
      assert.equal(curl.code, 0, curl.stderr);
      assert.ok(readFileSync(out).equals(bytes), 'served bytes differ');
      const range = await runCommand('curl', ['-sS', '--fail', '-r', `${(1 << 20) - 10}-${(1 << 20) + 9}`, `${network.root.http}/content/${s.contentId}`], {});
      assert.equal(range.code, 0);
    } finally {
      await network.stop();
    }
  });
});
