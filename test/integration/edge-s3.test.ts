/**
 * The S3-compatible read API with real S3 clients from Debian's packages: the AWS CLI,
 * boto3, rclone and s3cmd read from a node that held none of the content (blocks fetched
 * on demand), anonymously for a public content and with SigV4 keys from `canopy api-token`
 * for a signed one; unsigned, wrongly signed and malformed requests get S3's errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { S3Credentials } from '../../src/api/api-tokens.js';
import type { LocalNetwork, RunningNode } from '../../src/demo/local-network.js';
import { writeSample } from '../../src/demo/sample.js';
import { lastJson, runCli, runCommand, tempDir } from '../helpers/cli.js';
import { holding, publish, startNetwork } from '../helpers/edge-network.js';
import { aws as awsCli, rclone } from '../helpers/s3-clients.js';

const PYTHON = '/usr/bin/python3';

describe('S3 read API with real clients', () => {
  const dir = tempDir('canopy-s3-');
  let network: LocalNetwork;
  let edge: RunningNode;
  let keys: S3Credentials;
  let publicId: string;
  let signedId: string;
  const size = 3 * 2 ** 20 + 12_345;

  const aws = (args: string[], k?: S3Credentials) => awsCli(edge.s3, dir.path, args, k);

  before(async () => {
    await writeSample(`${dir.path}/weights.bin`, size);
    await writeSample(`${dir.path}/secret.bin`, size + 1);
    network = await startNetwork(`${dir.path}/net`, [], [{ spec: { name: 'edge', attrs: { region: 'eu' } }, args: ['--no-prefetch'] }]);
    edge = network.nodes[0]!;
    publicId = await publish(network, `${dir.path}/weights.bin`, ['--criteria', 'region=eu', '--block-size', '256KiB']);
    signedId = await publish(network, `${dir.path}/secret.bin`, ['--criteria', 'region=eu', '--block-size', '256KiB', '--access', 'signed']);
    // A read-only token made on the edge node: its S3 key pair works there.
    const made = await runCli(['api-token', 'create', '--scopes', 'read', '--label', 's3 test', '--to', edge.api, '--json']);
    assert.equal(made.code, 0, made.stderr);
    keys = lastJson<{ s3: S3Credentials }>(made.stdout).s3;
  });
  after(async () => {
    await network?.stop();
    dir.remove();
  });

  it('aws s3 ls and cp read a public content anonymously from a node that held none of it', async () => {
    assert.equal((await holding(edge, publicId)).haveBlocks, 0);
    const ls = await aws(['s3', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /weights\.bin/);
    assert.doesNotMatch(ls.stdout, /secret\.bin/, 'an anonymous listing hides contents behind signatures');
    const cp = await aws(['s3', 'cp', 's3://weights.bin/weights.bin', `${dir.path}/got.bin`]);
    assert.equal(cp.code, 0, cp.stderr);
    assert.deepEqual(readFileSync(`${dir.path}/got.bin`), readFileSync(`${dir.path}/weights.bin`));
    const h = await holding(edge, publicId);
    assert.equal(h.haveBlocks, h.totalBlocks);
  });

  it('aws s3 sync needs a key for a signed content, and works with one from canopy api-token', async () => {
    const anonymous = await aws(['s3', 'cp', 's3://secret.bin/secret.bin', `${dir.path}/no.bin`]);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr, /403|AccessDenied|Forbidden/);
    const wrong = await aws(['s3', 'ls', 's3://secret.bin/'], { ...keys, secretAccessKey: keys.secretAccessKey.replace(/.$/, (c) => (c === '0' ? '1' : '0')) });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /SignatureDoesNotMatch/);
    const sync = await aws(['s3', 'sync', 's3://secret.bin', `${dir.path}/synced`], keys);
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual(readFileSync(`${dir.path}/synced/secret.bin`), readFileSync(`${dir.path}/secret.bin`));
    // The admin token every node of this network shares: its pair, computed offline, works here too.
    const shared = await runCli(['api-token', 's3', '--json']);
    assert.equal(shared.code, 0, shared.stderr);
    const pair = lastJson<S3Credentials>(shared.stdout);
    // The same pair as shell lines, for eval "$(canopy api-token s3)" (docs/EDGE.md) to export.
    const sh = await runCommand('bash', ['-c', 'eval "$1" && printf "%s %s" "$(printenv AWS_ACCESS_KEY_ID)" "$(printenv AWS_SECRET_ACCESS_KEY)"', '_', (await runCli(['api-token', 's3'])).stdout]);
    assert.equal(sh.stdout, `${pair.accessKeyId} ${pair.secretAccessKey}`);
    const mine = await aws(['s3', 'ls'], pair);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /secret\.bin/, 'a signed listing shows the contents behind signatures too');
  });

  it('boto3: head, ranged and conditional gets, paginated listing, a presigned URL', async () => {
    const script = `
import boto3, botocore, json, sys, urllib.request
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1', config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
out = {}
head = s3.head_object(Bucket='secret.bin', Key='secret.bin')
out['size'] = head['ContentLength']
out['etag'] = head['ETag']
part = s3.get_object(Bucket='secret.bin', Key='secret.bin', Range='bytes=1000-1999')
out['range'] = [part['ContentRange'], part['Body'].read().hex()]
try:
    s3.get_object(Bucket='secret.bin', Key='secret.bin', IfNoneMatch=head['ETag'])
except botocore.exceptions.ClientError as e:
    out['notModified'] = e.response['ResponseMetadata']['HTTPStatusCode']
try:
    s3.get_object(Bucket='secret.bin', Key='secret.bin', IfMatch='"nope"')
except botocore.exceptions.ClientError as e:
    out['ifMatch'] = e.response['Error']['Code']
try:
    s3.get_object(Bucket='secret.bin', Key='missing')
except botocore.exceptions.ClientError as e:
    out['missing'] = e.response['Error']['Code']
pages = s3.get_paginator('list_objects_v2').paginate(Bucket='weights.bin', PaginationConfig={'PageSize': 1})
out['keys'] = [o['Key'] for p in pages for o in p.get('Contents', [])]
url = s3.generate_presigned_url('get_object', Params={'Bucket': 'secret.bin', 'Key': 'secret.bin'}, ExpiresIn=60)
out['presigned'] = len(urllib.request.urlopen(url).read())
v2 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1', config=Config(signature_version='s3', s3={'addressing_style': 'path'}))
try:
    urllib.request.urlopen(v2.generate_presigned_url('get_object', Params={'Bucket': 'secret.bin', 'Key': 'secret.bin'}, ExpiresIn=60))
except urllib.error.HTTPError as e:
    out['v2'] = [e.code, e.read().decode()]
print(json.dumps(out))
`;
    const r = await runCommand(PYTHON, ['-c', script, edge.s3, keys.accessKeyId, keys.secretAccessKey]);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ size: number; etag: string; range: [string, string]; notModified: number; ifMatch: string; missing: string; keys: string[]; presigned: number; v2: [number, string] }>(r.stdout);
    const original = readFileSync(`${dir.path}/secret.bin`);
    assert.equal(out.size, original.length);
    assert.equal(out.etag, `"${signedId}"`);
    assert.deepEqual(out.range, [`bytes 1000-1999/${original.length}`, original.subarray(1000, 2000).toString('hex')]);
    assert.equal(out.notModified, 304);
    assert.equal(out.ifMatch, 'PreconditionFailed');
    assert.equal(out.missing, 'NoSuchKey');
    assert.deepEqual(out.keys, ['weights.bin']);
    assert.equal(out.presigned, original.length);
    assert.equal(out.v2[0], 400);
    assert.match(out.v2[1], /<Code>InvalidRequest<\/Code>.*Signature Version 2/);
  });

  it('rclone copy and s3cmd get read with the same key', async () => {
    const copied = await rclone(edge.s3, ['copy', ':s3:secret.bin/', `${dir.path}/rclone`], keys);
    assert.equal(copied.code, 0, copied.stderr);
    assert.deepEqual(readFileSync(`${dir.path}/rclone/secret.bin`), readFileSync(`${dir.path}/secret.bin`));
    const host = new URL(edge.s3).host;
    const cfg = `${dir.path}/s3cfg`;
    writeFileSync(cfg, ['[default]', `access_key = ${keys.accessKeyId}`, `secret_key = ${keys.secretAccessKey}`, `host_base = ${host}`, `host_bucket = ${host}`, 'use_https = False', 'signature_v2 = False', ''].join('\n'));
    mkdirSync(`${dir.path}/s3cmd`);
    const get = await runCommand('s3cmd', ['-c', cfg, 'get', 's3://secret.bin/secret.bin', `${dir.path}/s3cmd/secret.bin`]);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(readFileSync(`${dir.path}/s3cmd/secret.bin`), readFileSync(`${dir.path}/secret.bin`));
    const ls = await runCommand('s3cmd', ['-c', cfg, 'ls', 's3://weights.bin']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /s3:\/\/weights\.bin\/weights\.bin/);
  });

  it('answers bad requests with S3 errors (curl), and serves virtual-host style', async () => {
    const curl = async (args: string[]) => {
      const r = await runCommand('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args]);
      const lines = r.stdout.trimEnd().split('\n');
      return { status: Number(lines.pop()), body: lines.join('\n') };
    };
    const code = (body: string) => /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    const cases: [string[], number, string][] = [
      [[`${edge.s3}/secret.bin/secret.bin`], 403, 'AccessDenied'],
      [['--path-as-is', `${edge.s3}/weights.bin/a/../weights.bin`], 400, 'InvalidArgument'],
      [[`${edge.s3}/weights.bin?list-type=2&max-keys=ten`], 400, 'InvalidArgument'],
      [[`${edge.s3}/weights.bin?list-type=3`], 400, 'InvalidArgument'],
      [[`${edge.s3}/weights.bin?list-type=2&continuation-token=not-ours`], 400, 'InvalidArgument'],
      [[`${edge.s3}/weights.bin?list-type=2&encoding-type=base64`], 400, 'InvalidArgument'],
      [[`${edge.s3}/nothing-here/x`], 404, 'NoSuchBucket'],
      [['-X', 'PUT', '--data', 'x', `${edge.s3}/weights.bin/new`], 405, 'MethodNotAllowed'],
      [[`${edge.s3}/weights.bin?acl`], 501, 'NotImplemented'],
      [['-H', 'Range: bytes=99999999-', `${edge.s3}/weights.bin/weights.bin`], 416, 'InvalidRange'],
      [['-H', 'Authorization: AWS4-HMAC-SHA256 Credential=x', `${edge.s3}/weights.bin/weights.bin`], 400, 'AuthorizationHeaderMalformed'],
      [['-H', 'Authorization: AWS CANOPY0123:abc', `${edge.s3}/weights.bin/weights.bin`], 400, 'InvalidRequest'],
    ];
    for (const [args, status, s3Code] of cases) {
      const r = await curl(args);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.body}`);
      assert.equal(code(r.body), s3Code, args.join(' '));
    }
    const port = new URL(edge.s3).port;
    const vhost = await runCommand('curl', ['-s', '-r', '0-9', '-o', `${dir.path}/vhost.bin`, '--connect-to', `weights.bin.localhost:${port}:127.0.0.1:${port}`, `http://weights.bin.localhost:${port}/weights.bin`]);
    assert.equal(vhost.code, 0, vhost.stderr);
    assert.deepEqual(readFileSync(`${dir.path}/vhost.bin`), readFileSync(`${dir.path}/weights.bin`).subarray(0, 10));
  });
});
