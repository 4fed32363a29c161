/**
 * Reading S3 origins (src/client/origins/s3-origin.ts) through the AWS SDK v3 against a real
 * S3-compatible server process (s3rver), behind a loopback TCP relay this test controls: an
 * object is read by one streamed GetObject, a connection cut mid-object is resumed from the
 * byte it stopped at (the second request's Range says where), an object rewritten during the
 * read fails with ERR_SOURCE_CHANGED, a missing key and an unknown key id fail at once with
 * ERR_ORIGIN and their status; a prefix is a tree (parents made, a folder marker kept), a
 * key the tree cannot hold is ERR_DIRECTORY_ENTRY, and a key added before the end of a
 * publish is caught by the second listing. No cluster: about 3 s.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../src/client/origins/s3-client.js';
import { S3Object, S3Tree } from '../../src/client/origins/s3-origin.js';
import { parseS3Url } from '../../src/client/origins/s3-url.js';
import { isCanopyError } from '../../src/core/errors.js';
import { S3RVER_KEYS, startS3rver, type Baseline } from '../../bench/_servers.js';
import { tempDir } from '../helpers/cli.js';

/** A TCP relay to the server that records what clients send and can cut the next answer after N bytes. */
function relay(target: URL): { url: Promise<string>; sent: string[]; cutAfter: { n?: number }; close: () => void } {
  const sent: string[] = [];
  const cutAfter: { n?: number } = {};
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.on('data', (d) => {
      sent.push(d.toString('latin1'));
      upstream.write(d);
    });
    let budget: number | undefined;
    upstream.on('data', (d) => {
      if (budget === undefined && cutAfter.n !== undefined && d.toString('latin1').startsWith('HTTP/1.1 206')) {
        budget = cutAfter.n;
        cutAfter.n = undefined;
      }
      if (budget === undefined) return void client.write(d);
      client.write(d.subarray(0, Math.max(0, budget)), () => (budget! <= 0 ? (client.destroy(), upstream.destroy()) : undefined));
      budget -= d.length;
    });
    for (const s of [client, upstream]) s.on('error', () => (client.destroy(), upstream.destroy()));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const url = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)));
  return { url, sent, cutAfter, close: () => server.close() };
}

const ranges = (sent: string[]) => sent.join('').match(/^range: bytes=\d+-$/gim)?.map((r) => r.toLowerCase()) ?? [];

describe('S3 origin reads (AWS SDK v3 against s3rver)', () => {
  const dir = tempDir('canopy-s3o-');
  const body = randomBytes(3_000_000);
  let s3: Baseline;
  let proxy: ReturnType<typeof relay>;
  let client: S3Client;
  let direct: S3Client;
  const saved = { ...process.env };

  const put = (key: string, data: Buffer | string) => direct.send(new PutObjectCommand({ Bucket: 'models', Key: key, Body: data }));
  const read = async (o: S3Object, position: number, length: number) => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await o.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  };

  before(async () => {
    Object.assign(process.env, S3RVER_KEYS);
    s3 = await startS3rver(dir.path, ['models']);
    proxy = relay(new URL(s3.url));
    client = await s3Client({ endpoint: await proxy.url, retries: 2 });
    direct = await s3Client({ endpoint: s3.url });
    await put('ckpt/model.bin', body);
    await put('ckpt/config.json', '{"layers":2}');
    await put('ckpt/shards/a.bin', 'a');
    await put('ckpt/empty/', '');
  });
  after(async () => {
    process.env = saved;
    client?.destroy();
    direct?.destroy();
    proxy?.close();
    await s3?.stop();
    dir.remove();
  });

  it('reads an object in order from one GetObject, and resumes a cut one from the byte reached', async () => {
    const o = await S3Object.open(client, parseS3Url('s3://models/ckpt/model.bin'), { retries: 2 });
    assert.equal(o.size, body.length);
    assert.match(o.version.etag ?? '', /^"[0-9a-f]{32}"$/);
    proxy.sent.length = 0;
    const parts = await Promise.all([0, 1, 2].map((i) => read(o, i * 1_000_000, 1_000_000)));
    assert.deepEqual(Buffer.concat(parts), body);
    assert.deepEqual(ranges(proxy.sent), ['range: bytes=0-']);

    const again = await S3Object.open(client, parseS3Url('s3://models/ckpt/model.bin'), { retries: 2 });
    proxy.sent.length = 0;
    proxy.cutAfter.n = 400_000; // Headers and some body, then the connection drops.
    assert.deepEqual(await read(again, 0, body.length), body);
    const seen = ranges(proxy.sent);
    assert.equal(seen.length, 2, seen.join());
    const resumedAt = Number(/=(\d+)-/.exec(seen[1]!)![1]);
    assert.ok(resumedAt > 0 && resumedAt < 400_000, `resumed at ${resumedAt}`);
    // An empty object has no byte 0 (416): HeadObject says it is empty.
    await put('ckpt/zero.bin', '');
    const zero = await S3Object.open(client, parseS3Url('s3://models/ckpt/zero.bin'), {});
    assert.deepEqual([zero.size, (await read(zero, 0, 10)).length], [0, 0]);
    await direct.send(new DeleteObjectCommand({ Bucket: 'models', Key: 'ckpt/zero.bin' }));
  });

  it('an object rewritten during the read fails with ERR_SOURCE_CHANGED; a missing key and an unknown key id fail at once', async () => {
    await put('ckpt/moving.bin', randomBytes(100_000));
    const o = await S3Object.open(client, parseS3Url('s3://models/ckpt/moving.bin'), { retries: 2 });
    await read(o, 0, 10);
    await put('ckpt/moving.bin', randomBytes(100_000));
    // s3rver ignores If-Match; the new ETag in the answer is what gives it away.
    await assert.rejects(read(o, 50_000, 10), (e) => isCanopyError(e, 'ERR_SOURCE_CHANGED') && /became/.test(e.message));
    proxy.sent.length = 0;
    await assert.rejects(S3Object.open(client, parseS3Url('s3://models/ckpt/nope.bin'), { retries: 2 }), (e) => isCanopyError(e, 'ERR_ORIGIN') && /404 NoSuchKey/.test(e.message));
    assert.equal(proxy.sent.filter((s) => s.includes('/ckpt/nope.bin')).length, 1, 'a 404 is not retried');
    // The SDK reads the credentials from the environment at the first request.
    // (s3rver checks the access key id, not the SigV4 signature; publish-sources.test.ts signs against Canopy's own S3 API.)
    process.env.AWS_ACCESS_KEY_ID = 'NOTAKEY';
    const wrong = await s3Client({ endpoint: s3.url });
    await assert.rejects(S3Object.open(wrong, parseS3Url('s3://models/ckpt/model.bin'), {}), (e) => isCanopyError(e, 'ERR_ORIGIN') && /403 InvalidAccessKeyId/.test(e.message));
    process.env.AWS_ACCESS_KEY_ID = S3RVER_KEYS.AWS_ACCESS_KEY_ID;
    wrong.destroy();
  });

  it('a prefix is a tree; a key it cannot hold is refused; a key added meanwhile is a change', async () => {
    const tree = await S3Tree.open(client, parseS3Url('s3://models/ckpt/'), { retries: 2 });
    const shape = tree.items.map((i) => `${i.type}:${i.path}`).sort();
    assert.deepEqual(shape, ['dir:empty', 'dir:shards', 'file:config.json', 'file:model.bin', 'file:moving.bin', 'file:shards/a.bin']);
    const buf = Buffer.alloc(12);
    await tree.readerOf('config.json').read(buf, 0, 12, 0);
    assert.equal(buf.toString(), '{"layers":2}');
    await tree.checkUnchanged();
    await put('ckpt/shards/b.bin', 'b');
    await assert.rejects(tree.checkUnchanged(), (e) => isCanopyError(e, 'ERR_SOURCE_CHANGED'));
    tree.close();
    await put('bad/a\\b', 'x');
    await assert.rejects(S3Tree.open(client, parseS3Url('s3://models/bad/'), {}), (e) => isCanopyError(e, 'ERR_DIRECTORY_ENTRY') && e.message.includes('a\\b'));
    await assert.rejects(S3Tree.open(client, parseS3Url('s3://models/none/'), {}), (e) => isCanopyError(e, 'ERR_ORIGIN') && /no object/.test(e.message));
  });
});
