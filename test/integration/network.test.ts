/**
 * The walking skeleton end to end: a root and three node processes, a 64 MiB file
 * published with the CLI, fetched by the qualified nodes and checked with curl; the
 * unqualified node holds and serves nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalNetwork } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import type { ContentStatus } from '../../src/cli/commands/status.js';

const SIZE = 64 * 2 ** 20;

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('a local network of real processes', () => {
  const dir = tempDir();
  const network = new LocalNetwork(`${dir.path}/net`);
  let file = '';
  let sha = '';

  before(async () => {
    await network.start([
      { name: 'eu-edge', attrs: { region: 'eu', tier: 'edge' } },
      { name: 'eu-hub', attrs: { region: 'eu', tier: 'hub' } },
      { name: 'us-edge', attrs: { region: 'us', tier: 'edge' } },
    ]);
    file = `${dir.path}/payload.bin`;
    sha = await writeSample(file, SIZE, 'integration');
  });
  after(async () => {
    await network.stop();
    dir.remove();
  });

  it('publishes with the CLI, distributes to qualified nodes only, and serves exact bytes', async () => {
    const published = await runCli(['publish', file, '--criteria', 'region=eu', '--to', network.root!.api, '--json']);
    assert.equal(published.code, 0, published.stderr);
    const { contentId } = lastJson<{ contentId: string }>(published.stdout);
    assert.match(contentId, /^[0-9a-f]{64}$/);

    let status: ContentStatus;
    for (let i = 0; ; i++) {
      const res = await runCli(['status', contentId, '--to', network.root!.api, '--json']);
      assert.equal(res.code, 0, res.stderr);
      status = lastJson<ContentStatus>(res.stdout);
      if (status.nodes.filter((n) => n.qualified).every((n) => n.complete)) break;
      assert.ok(i < 600, 'distribution did not finish');
      await sleep(100);
    }
    assert.deepEqual(status.nodes.filter((n) => n.qualified).map((n) => n.name).sort(), ['eu-edge', 'eu-hub']);

    for (const node of network.nodes) {
      const url = `${node.http}/content/${contentId}/payload.bin`;
      const curl = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', url], { timeoutMs: 60_000 });
      if (node.attrs.region === 'eu') {
        const out = `${dir.path}/${node.name}.bin`;
        const dl = await runCommand('curl', ['-sS', '--fail', '-o', out, url]);
        assert.equal(dl.code, 0, dl.stderr);
        assert.equal(await fileSha256(out), sha, `${node.name} served different bytes`);
      } else {
        assert.match(curl.stdout, /^(503|404)$/, `${node.name} must not serve the content`);
        const local = await network.api(node).get<{ local: { haveBlocks: number } }>(`/api/contents/${contentId}`);
        assert.equal(local.local.haveBlocks, 0, `${node.name} must hold no block`);
      }
    }
  });

  it('serves byte ranges with 206, 416 and ETag', async () => {
    const ls = await runCli(['ls', '--to', network.root!.api, '--json']);
    const { contents } = lastJson<{ contents: { contentId: string }[] }>(ls.stdout);
    const contentId = contents[0]!.contentId;
    const node = network.nodes[0]!;
    const url = `${node.http}/content/${contentId}`;
    const headers = `${dir.path}/headers.txt`;
    const body = `${dir.path}/range.bin`;
    const ranged = await runCommand('curl', ['-sS', '-D', headers, '-o', body, '-r', '1000-1999', url]);
    assert.equal(ranged.code, 0, ranged.stderr);
    const head = readFileSync(headers, 'utf8');
    assert.match(head, /HTTP\/1.1 206/);
    assert.match(head, new RegExp(`content-range: bytes 1000-1999/${SIZE}`, 'i'));
    assert.match(head, new RegExp(`etag: "${contentId}"`, 'i'));
    const original = Buffer.alloc(1000);
    const fd = openSync(file, 'r');
    readSync(fd, original, 0, 1000, 1000);
    closeSync(fd);
    assert.deepEqual(readFileSync(body), original);
    const beyond = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-r', `${SIZE}-`, url]);
    assert.equal(beyond.stdout, '416');
    const notModified = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `If-None-Match: "${contentId}"`, url]);
    assert.equal(notModified.stdout, '304');
  });

  it('lists and reports with human output too', async () => {
    const ls = await runCli(['ls', '--to', network.root!.api]);
    assert.equal(ls.code, 0);
    assert.match(ls.stdout, /payload\.bin/);
    const st = await runCli(['status', '--to', network.root!.api]);
    assert.match(st.stdout, /eu-edge .*100%/);
    assert.match(st.stdout, /us-edge \(not qualified\).* 0%/);
  });
});
