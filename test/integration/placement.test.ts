/**
 * Placement end to end on real processes: a prefix placement keeps only the leading blocks,
 * an on-demand placement keeps nothing until a block is asked for, and the on-demand path
 * (`POST /api/contents/:id/blocks/:i`, the swarm's fetchNow) fetches exactly that block,
 * whose bytes the HTTP edge then serves.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { apiFetch } from '../helpers/api-fetch.js';

const MiB = 2 ** 20;
const SIZE = 16 * MiB;

async function localBlocks(api: string, contentId: string): Promise<number> {
  const r = await apiFetch(`${api}/api/contents/${contentId}`);
  return ((await r.json()) as { local: { haveBlocks: number } }).local.haveBlocks;
}

describe('placement policies', () => {
  const dir = tempDir('canopy-i5-placement-');
  const network = new LocalNetwork(`${dir.path}/net`);
  const prefixFile = `${dir.path}/prefix.bin`;
  // A different sample per content: blocks are content-addressed, so shared bytes would be shared blocks.
  const file = `${dir.path}/payload.bin`;

  before(async () => {
    await network.start([{ name: 'a', attrs: { region: 'eu' } }]);
    await writeSample(prefixFile, SIZE, 'placement-prefix');
    await writeSample(file, SIZE, 'placement');
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  async function publish(placement: string, source = file): Promise<string> {
    const r = await runCli(['publish', source, '--to', network.root!.api, '--block-size', '1MiB', '--placement', placement, '--name', `p-${placement.replace(':', '')}`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return lastJson<{ contentId: string }>(r.stdout).contentId;
  }

  it('prefix:25 keeps the first quarter of the blocks', async () => {
    const contentId = await publish('prefix:25', prefixFile);
    const node = network.nodes[0]!;
    for (let i = 0; (await localBlocks(node.api, contentId)) < 4; i++) {
      assert.ok(i < 300, 'prefix blocks did not arrive');
      await sleep(100);
    }
    await sleep(1_000);
    assert.equal(await localBlocks(node.api, contentId), 4, 'only blocks starting in the first 25 % are kept');
  });

  it('on-demand keeps nothing until a block is read, then fetches just that block', async () => {
    const contentId = await publish('on-demand');
    const node = network.nodes[0]!;
    await sleep(1_500);
    assert.equal(await localBlocks(node.api, contentId), 0);
    const r = await apiFetch(`${node.api}/api/contents/${contentId}/blocks/10`, { method: 'POST' });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(await localBlocks(node.api, contentId), 1);
    const out = `${dir.path}/range.bin`;
    const curl = await runCommand('curl', ['-sS', '--fail', '-o', out, '-r', `${10 * MiB + 5}-${10 * MiB + 1004}`, `${node.http}/content/${contentId}`]);
    assert.equal(curl.code, 0, curl.stderr);
    const expected = Buffer.alloc(1000);
    const fd = openSync(file, 'r');
    readSync(fd, expected, 0, 1000, 10 * MiB + 5);
    closeSync(fd);
    assert.deepEqual(readFileSync(out), expected);
    const missing = await apiFetch(`${node.api}/api/contents/${contentId}/blocks/99`, { method: 'POST' });
    assert.equal(missing.status, 404);
  });
});
