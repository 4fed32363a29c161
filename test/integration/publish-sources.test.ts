/**
 * `canopy publish DIR` and `canopy publish http://...` end to end. A directory, with real clients against a node that held nothing: the
 * tree (spaces, non-ASCII, empty file and directory, a symlink, two identical files) is one
 * content; curl lists it (JSON, HTML by Accept) and reads files with ranges over HTTP, over
 * FTP (LIST, RETR) and over the S3 API (ListObjectsV2, GetObject); a new version with one
 * file changed needs only that file's block (the rest are already held); a withdrawal
 * covers every file (a symlink leaving the tree: test/unit/ingest/ingest-directory.test.ts). An nginx origin:
 * published straight from it, publishing again with the origin unchanged publishes nothing,
 * a changed origin publishes a new version, a 404 is ERR_ORIGIN, and `--follow` publishes
 * each change it sees. An S3 origin (s3rver, through the AWS SDK): one object with
 * `--endpoint`, a prefix as a directory with AWS_ENDPOINT_URL, and, signed with a profile's
 * key (AWS_SHARED_CREDENTIALS_FILE, --profile), Canopy's own S3 API as the origin (a wrong
 * secret is SignatureDoesNotMatch). One network for all (wall time: see notes/issue-20.md).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { cliCommand } from '../../src/demo/local-network.js';
import { holding, publish, startNetwork } from '../helpers/edge-network.js';
import { until } from '../helpers/wait.js';
import { S3RVER_KEYS, startNginx, startS3rver, type Baseline } from '../../bench/_servers.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../../src/client/origins/s3-client.js';
import type { S3Credentials } from '../../src/api/api-tokens.js';
import { AWS, awsEnv, rclone } from '../helpers/s3-clients.js';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const FTP_USER = 'reader:dir pass';

describe('publish a directory, read it from every edge', () => {
  const dir = tempDir('canopy-dir-');
  const tree = `${dir.path}/model`;
  let network: LocalNetwork;
  let edge: RunningNode;
  let v1 = '';
  let nginx: Baseline;
  let s3: Baseline;
  const state = { CANOPY_ORIGIN_STATE: `${dir.path}/origins.json` };
  let expiring = '';
  let expiringRead = '';

  const curl = (args: string[]) => runCommand('curl', ['-sS', ...args]);

  before(async () => {
    mkdirSync(`${tree}/weights`, { recursive: true });
    mkdirSync(`${tree}/empty dir`);
    writeFileSync(`${tree}/config.json`, '{"layers":2}\n');
    writeFileSync(`${tree}/naïve ファイル.txt`, 'héllo\n');
    writeFileSync(`${tree}/empty`, '');
    await writeSample(`${tree}/weights/shard 1.bin`, 700_000, 'dir');
    writeFileSync(`${tree}/weights/shard-2.bin`, readFileSync(`${tree}/weights/shard 1.bin`));
    symlinkSync('weights/shard 1.bin', `${tree}/latest.bin`);
    network = await startNetwork(`${dir.path}/net`, [], [{ spec: { name: 'edge', attrs: { region: 'eu' } }, args: ['--no-prefetch', '--ftp-user', FTP_USER] }]);
    edge = network.nodes[0]!;
    v1 = await publish(network, `${tree}/`, ['--criteria', 'region=eu', '--block-size', '256KiB']);
    // nginx's workers run as another user when the tests run as root: let them read the files.
    chmodSync(dir.path, 0o755);
    mkdirSync(`${dir.path}/www`, { mode: 0o755 });
    await writeSample(`${dir.path}/www/clip.bin`, 1_500_000, 'origin');
    // The directory that expires (its own case below) is published now: its 10 s run out while the
    // other cases run instead of being waited out. 10 s: time enough for the read right after the
    // publish on a loaded machine (a CLI start takes seconds there).
    mkdirSync(`${dir.path}/short/sub`, { recursive: true });
    writeFileSync(`${dir.path}/short/a.txt`, 'a\n');
    writeFileSync(`${dir.path}/short/sub/b.txt`, 'b\n');
    expiring = await publish(network, `${dir.path}/short`, ['--criteria', 'region=eu', '--expires', '10s']);
    expiringRead = (await curl([`${edge.http}/files/short/sub/b.txt`])).stdout;
    nginx = await startNginx(dir.path, `${dir.path}/www`);
    s3 = await startS3rver(dir.path, ['models']);
    Object.assign(process.env, S3RVER_KEYS);
    await writeSample(`${dir.path}/ckpt.bin`, 900_000, 's3 origin');
    const client = await s3Client({ endpoint: s3.url });
    for (const [key, file] of [['ckpt.bin', `${dir.path}/ckpt.bin`], ['llama/config.json', `${tree}/config.json`], ['llama/weights/shard-0.bin', `${tree}/weights/shard 1.bin`]]) {
      await client.send(new PutObjectCommand({ Bucket: 'models', Key: key, Body: readFileSync(file!) }));
    }
    client.destroy();
  });
  after(async () => {
    await nginx?.stop();
    await s3?.stop();
    await network?.stop();
    dir.remove();
  });

  it('HTTP: lists the tree as JSON and HTML, serves files with ranges, follows the symlink, refuses escapes', async () => {
    const list = await curl([`${edge.http}/files/model/`]);
    const body = JSON.parse(list.stdout) as { contentId: string; entries: { name: string; type: string; size?: number; href: string }[] };
    assert.equal(body.contentId, v1);
    assert.deepEqual(
      body.entries.map((e) => `${e.type}:${e.name}`),
      ['file:config.json', 'file:empty', 'dir:empty dir', 'symlink:latest.bin', 'file:naïve ファイル.txt', 'dir:weights'],
    );
    const html = await curl(['-H', 'Accept: text/html,application/xhtml+xml', `${edge.http}/files/model/weights/`]);
    assert.match(html.stdout, /<a href="shard%201\.bin">shard 1\.bin<\/a>/);
    const redirect = await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `${edge.http}/files/model/weights`]);
    assert.equal(redirect.stdout, `301 ${edge.http}/files/model/weights/`);
    const original = readFileSync(`${tree}/weights/shard 1.bin`);
    const whole = await runCommand('bash', ['-c', `curl -sS "$1" | sha256sum`, '_', `${edge.http}/files/model/weights/shard%201.bin`]);
    assert.equal(whole.stdout.split(' ')[0], (await runCommand('sha256sum', [`${tree}/weights/shard 1.bin`])).stdout.split(' ')[0]);
    const range = await curl(['-r', '300000-300009', '-o', `${dir.path}/range.bin`, '-w', '%{http_code}', `${edge.http}/files/model/latest.bin`]);
    assert.equal(range.stdout, '206');
    assert.deepEqual(readFileSync(`${dir.path}/range.bin`), original.subarray(300_000, 300_010));
    assert.equal((await curl([`${edge.http}/files/model/na%C3%AFve%20%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB.txt`])).stdout, 'héllo\n');
    assert.equal((await curl(['-o', '/dev/null', '-w', '%{http_code}', `${edge.http}/files/model/empty`])).stdout, '200');
    for (const bad of ['weights/..%2F..%2Fconfig.json', 'weights%2Fshard-2.bin', 'nope', 'config.json/x']) {
      assert.equal((await curl(['-o', '/dev/null', '-w', '%{http_code}', `${edge.http}/files/model/${bad}`])).stdout, '404', bad);
    }
  });

  it('FTP shows the tree and serves its files; S3 lists the files as keys', async () => {
    const u = new URL(edge.ftp);
    const ls = await curl(['--user', FTP_USER, `ftp://${u.host}/model/weights/`]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /700000 .* shard 1\.bin/);
    const got = await curl(['--user', FTP_USER, `ftp://${u.host}/model/config.json`]);
    assert.equal(got.stdout, '{"layers":2}\n');
    const keys = await curl([`${edge.s3}/model?list-type=2`]);
    assert.match(keys.stdout, /<Key>weights\/shard 1\.bin<\/Key>/);
    assert.equal((await curl([`${edge.s3}/model/config.json`])).stdout, '{"layers":2}\n');
  });

  it('a new version needs only the changed file; a withdrawal covers every file', async () => {
    // The edge reads all of v1 (so holds every block), then v2 changes one small file.
    await curl(['-o', '/dev/null', `${edge.http}/content/${v1}`]);
    const h1 = await holding(edge, v1);
    assert.equal(h1.haveBlocks, h1.totalBlocks);
    writeFileSync(`${tree}/config.json`, '{"layers":3}\n');
    const v2 = await publish(network, tree, ['--criteria', 'region=eu', '--block-size', '256KiB']);
    const h2 = await until('the edge learns v2', () => holding(edge, v2).catch(() => undefined));
    assert.equal(h2.totalBlocks - h2.haveBlocks, 1, 'only config.json has a block the edge lacks');
    assert.equal((await curl([`${edge.http}/files/model/config.json`])).stdout, '{"layers":3}\n');
    const w = await runCli(['withdraw', v2, '--to', network.root!.api, '--json']);
    assert.equal(w.code, 0, w.stderr);
    await until('the withdrawal reaches the edge', async () => ((await curl(['-o', '/dev/null', '-w', '%{http_code}', `${edge.http}/content/${v2}`])).stdout === '410' ? true : undefined));
    // The name now serves v1 again, whole.
    assert.equal((await curl([`${edge.http}/files/model/config.json`])).stdout, '{"layers":2}\n');
  });

  it('publishes from an nginx origin, again only when it changed; a 404 is ERR_ORIGIN', async () => {
    const url = `${nginx.url}/clip.bin`;
    const pub = (extra: string[] = []) => runCli(['publish', url, '--to', network.root!.api, '--criteria', 'region=eu', '--json', ...extra], { env: state });
    const first = await pub();
    assert.equal(first.code, 0, first.stderr);
    const r1 = lastJson<{ contentId: string; unchanged: boolean; originVersion: { etag: string } }>(first.stdout);
    assert.equal(r1.unchanged, false);
    assert.match(r1.originVersion.etag, /^"/);
    const got = await runCommand('bash', ['-c', 'curl -sS "$1" | cmp - "$2" && echo same', '_', `${edge.http}/files/clip.bin`, `${dir.path}/www/clip.bin`]);
    assert.equal(got.stdout.trim(), 'same', got.stderr);
    const again = lastJson<{ contentId: string; unchanged: boolean }>((await pub()).stdout);
    assert.deepEqual(again, { ...again, unchanged: true, contentId: r1.contentId });
    await writeSample(`${dir.path}/www/clip.bin`, 1_600_000, 'origin v2');
    const changed = lastJson<{ contentId: string; unchanged: boolean }>((await pub()).stdout);
    assert.equal(changed.unchanged, false);
    assert.notEqual(changed.contentId, r1.contentId);
    const missing = await runCli(['publish', `${nginx.url}/nope.bin`, '--to', network.root!.api, '--criteria', 'region=eu', '--json'], { env: state });
    assert.notEqual(missing.code, 0);
    const err = lastJson<{ error: { code: string; message: string } }>(missing.stderr).error;
    assert.equal(err.code, 'ERR_ORIGIN');
    assert.match(err.message, /404/);
  });

  it('a slow origin: its first bytes come after the root would close an idle connection, and the publish still succeeds', async () => {
    // The origin answers its size at once, then holds the streamed range 7 s: longer than the
    // admin API's keep-alive (5 s) and headers (10 s would be next) timeouts, so the upload must
    // not open its request before it has a first frame to send (it used to: UND_ERR_SOCKET).
    const bytes = readFileSync(`${tree}/weights/shard 1.bin`);
    const server = createServer((req, res) => {
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const start = Number(m?.[1] ?? 0);
      const end = m?.[2] ? Number(m[2]) : bytes.length - 1;
      const send = () => res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${bytes.length}`, etag: '"slow-1"', 'content-length': end - start + 1 }).end(bytes.subarray(start, end + 1));
      if (end - start + 1 > 1) setTimeout(send, 7_000);
      else send();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow.bin`;
      const r = await runCli(['publish', url, '--to', network.root!.api, '--criteria', 'region=eu', '--json'], { env: state });
      assert.equal(r.code, 0, r.stderr);
      const same = await runCommand('bash', ['-c', 'curl -sS "$1" | cmp - "$2" && echo same', '_', `${edge.http}/files/slow.bin`, `${tree}/weights/shard 1.bin`]);
      assert.equal(same.stdout.trim(), 'same', same.stderr);
    } finally {
      server.close();
    }
  });

  /** `canopy publish URL --follow 1s --json ...` in the background; its JSON lines as they come. */
  function follow(url: string, extra: string[], env: Record<string, string> = {}) {
    const { command, args } = cliCommand();
    const child = spawn(command, [...args, 'publish', url, '--to', network.root!.api, '--criteria', 'region=eu', '--json', '--follow', '1s', ...extra], { env: { ...process.env, ...state, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: { contentId: string; unchanged: boolean }[] = [];
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const l of parts) if (l.startsWith('{')) lines.push(JSON.parse(l) as { contentId: string; unchanged: boolean });
    });
    const published = (n: number) => until(`publish ${n}`, async () => (lines.filter((l) => !l.unchanged).length >= n ? true : undefined), 600);
    const unchangedPoll = () => until('an unchanged poll', async () => (lines.some((l) => l.unchanged) ? true : undefined), 600);
    return { lines, published, unchangedPoll, stop: () => child.kill('SIGTERM') };
  }

  it('--follow publishes a new version when the origin changes', async () => {
    await writeSample(`${dir.path}/www/live.bin`, 300_000, 'follow 1');
    const f = follow(`${nginx.url}/live.bin`, []);
    try {
      await f.published(1);
      await f.unchangedPoll();
      await writeSample(`${dir.path}/www/live.bin`, 300_000, 'follow 2');
      await f.published(2);
      assert.equal(new Set(f.lines.map((l) => l.contentId)).size, 2);
    } finally {
      f.stop();
    }
  });

  it('--follow on an S3 prefix publishes the new checkpoint that lands in the bucket, moving only its blocks', async () => {
    const client = await s3Client({ endpoint: s3.url });
    const put = (key: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: 'models', Key: key, Body: body }));
    const step1 = readFileSync(`${tree}/weights/shard 1.bin`);
    await put('run/step-1.bin', step1);
    const f = follow('s3://models/run/', ['--endpoint', s3.url], S3RVER_KEYS);
    try {
      await f.published(1);
      // The edge reads v1 whole, so it holds every block; v2 adds one object.
      await curl(['-o', '/dev/null', `${edge.http}/content/${f.lines[0]!.contentId}`]);
      await f.unchangedPoll();
      await put('run/step-2.bin', Buffer.from('a new checkpoint\n'));
      await f.published(2);
      const v2 = f.lines.filter((l) => !l.unchanged)[1]!.contentId;
      const list = JSON.parse((await curl([`${edge.http}/files/run/`])).stdout) as { contentId: string; entries: { name: string }[] };
      assert.equal(list.contentId, v2);
      assert.deepEqual(list.entries.map((e) => e.name), ['step-1.bin', 'step-2.bin']);
      const h = await until('the edge learns v2', () => holding(edge, v2).catch(() => undefined));
      assert.equal(h.totalBlocks - h.haveBlocks, 1, 'only the new object has a block the edge lacks');
      assert.equal((await curl([`${edge.s3}/run/step-2.bin`])).stdout, 'a new checkpoint\n');
    } finally {
      f.stop();
      client.destroy();
    }
  });

  it('a directory expires as a whole: its listing and every file, on every edge', async () => {
    // Published with --expires 10s in the set-up above, and read there at once.
    const id = expiring;
    const code = (url: string) => curl(['-o', '/dev/null', '-w', '%{http_code}', url]).then((r) => r.stdout);
    assert.equal(expiringRead, 'b\n');
    for (const node of [edge, network.root!]) {
      await until(`${node.name} expires the directory`, async () => ((await code(`${node.http}/content/${id}`)) === '410' ? true : undefined));
      for (const path of ['', 'a.txt', 'sub/', 'sub/b.txt']) assert.equal(await code(`${node.http}/files/short/${path}`), '410', `${node.name} /files/short/${path}`);
      assert.match((await curl([`${node.s3}/short/sub/b.txt`])).stdout, /<Code>NoSuchBucket<\/Code>/);
    }
    const u = new URL(edge.ftp);
    assert.notEqual((await curl(['--user', FTP_USER, `ftp://${u.host}/short/a.txt`])).code, 0, 'FTP no longer serves a file of it');
  });

  it('publishes from S3: an object with --endpoint, a prefix as a directory with AWS_ENDPOINT_URL, signed with a profile', async () => {
    const env = { ...state, ...S3RVER_KEYS };
    const pub = (args: string[], extra: Record<string, string> = {}) => runCli(['publish', ...args, '--to', network.root!.api, '--criteria', 'region=eu', '--json'], { env: { ...env, ...extra } });
    const one = await pub(['s3://models/ckpt.bin', '--endpoint', s3.url]);
    assert.equal(one.code, 0, one.stderr);
    const r1 = lastJson<{ contentId: string; unchanged: boolean }>(one.stdout);
    const same = await runCommand('bash', ['-c', 'curl -sS "$1" | cmp - "$2" && echo same', '_', `${edge.http}/files/ckpt.bin`, `${dir.path}/ckpt.bin`]);
    assert.equal(same.stdout.trim(), 'same', same.stderr);
    const again = lastJson<{ contentId: string; unchanged: boolean }>((await pub(['s3://models/ckpt.bin', '--endpoint', s3.url])).stdout);
    assert.deepEqual([again.unchanged, again.contentId], [true, r1.contentId]);

    const tree1 = await pub(['s3://models/llama/'], { AWS_ENDPOINT_URL: s3.url });
    assert.equal(tree1.code, 0, tree1.stderr);
    const list = JSON.parse((await curl([`${edge.http}/files/llama/`])).stdout) as { entries: { name: string; type: string }[] };
    assert.deepEqual(list.entries.map((e) => `${e.type}:${e.name}`), ['file:config.json', 'dir:weights']);
    const shard = await runCommand('bash', ['-c', 'curl -sS "$1" | cmp - "$2" && echo same', '_', `${edge.http}/files/llama/weights/shard-0.bin`, `${tree}/weights/shard 1.bin`]);
    assert.equal(shard.stdout.trim(), 'same', shard.stderr);

    // Canopy's own S3 API checks SigV4 (s3rver does not): the profile's key signs, a wrong secret is refused.
    const key = lastJson<S3Credentials>((await runCli(['api-token', 's3', '--json'])).stdout);
    writeFileSync(`${dir.path}/aws-credentials`, `[canopy]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n[wrong]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = nope\n`);
    const profile = { AWS_SHARED_CREDENTIALS_FILE: `${dir.path}/aws-credentials`, AWS_CONFIG_FILE: `${dir.path}/aws-config`, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const signed = await pub(['s3://llama/config.json', '--endpoint', edge.s3, '--profile', 'canopy', '--name', 'llama-config'], profile);
    assert.equal(signed.code, 0, signed.stderr);
    assert.equal((await curl([`${edge.http}/files/llama-config`])).stdout, '{"layers":2}\n');
    const refused = await pub(['s3://llama/config.json', '--endpoint', edge.s3, '--profile', 'wrong', '--name', 'llama-config'], profile);
    assert.notEqual(refused.code, 0);
    assert.match(lastJson<{ error: { code: string; message: string } }>(refused.stderr).error.message, /403 SignatureDoesNotMatch/);
  });

  it('a bucket of 10,000 objects: published from its prefix, listed back page by page by the AWS CLI and rclone', async () => {
    // 10,000 objects in 10 "folders"; 100 of them hold a few bytes, the rest are empty, so the
    // test stays fast (each non-empty object is one GetObject and one block). Seeded in
    // s3rver's own store layout (one <key>._S3rver_object file each, what a PutObject leaves;
    // s3rver works the ETag out on first use): 10,000 PutObjects would cost more than the rest.
    const keys: string[] = [];
    for (let d = 0; d < 10; d++) {
      mkdirSync(`${dir.path}/s3rver/models/many/d${d}`, { recursive: true });
      for (let k = 0; k < 1000; k++) {
        const key = `d${d}/k${String(k).padStart(4, '0')}.bin`;
        keys.push(key);
        writeFileSync(`${dir.path}/s3rver/models/many/${key}._S3rver_object`, k % 100 === 0 ? `${key}\n` : '');
      }
    }
    const pub = await runCli(['publish', 's3://models/many/', '--endpoint', s3.url, '--to', network.root!.api, '--criteria', 'region=eu', '--json'], { env: { ...state, ...S3RVER_KEYS } });
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(lastJson<{ published: { files: number } }>(pub.stdout).published.files, keys.length);
    const env = awsEnv(dir.path);
    // Every key, in order, through ListObjectsV2 pages of 1,000 (continuation tokens).
    const ls = await runCommand(AWS, ['s3', 'ls', '--recursive', 's3://many/', '--endpoint-url', edge.s3, '--no-sign-request'], { env });
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').map((l) => l.split(/\s+/).pop()), keys);
    // Delimiter and tiny pages: the folders come back as CommonPrefixes across 4 pages of 3.
    const folders = await runCommand(AWS, ['s3api', 'list-objects-v2', '--bucket', 'many', '--delimiter', '/', '--page-size', '3', '--endpoint-url', edge.s3, '--no-sign-request'], { env });
    assert.equal(folders.code, 0, folders.stderr);
    const body = JSON.parse(folders.stdout) as { CommonPrefixes: { Prefix: string }[]; Contents?: unknown[] };
    assert.deepEqual(body.CommonPrefixes.map((p) => p.Prefix), keys.filter((_, i) => i % 1000 === 0).map((k) => k.split('/')[0] + '/'));
    assert.equal(body.Contents, undefined);
    const size = await rclone(edge.s3, ['size', '--json', '--s3-list-version', '2', ':s3:many']);
    assert.equal(size.code, 0, size.stderr);
    const counted = JSON.parse(size.stdout) as { count: number; bytes: number };
    assert.deepEqual([counted.count, counted.bytes], [10_000, keys.filter((_, i) => i % 100 === 0).reduce((n, k) => n + k.length + 1, 0)]);
    assert.equal((await rclone(edge.s3, ['cat', ':s3:many/d7/k0300.bin'])).stdout, 'd7/k0300.bin\n');
  });
});
