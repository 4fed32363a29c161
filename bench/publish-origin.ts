/**
 * `canopy publish http://...` and `s3://...`'s ingest (ranged GETs from a local nginx, and
 * GetObject through the AWS SDK from a local s3rver; hash; store as the root does: fsynced
 * blocks on two volumes) against `curl -o` of the same object + `sync`, interleaved, for
 * each origin. Options: --size 1GiB --rounds 2 --origins nginx,s3.
 */
import { chmodSync, createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../src/client/origins/s3-client.js';
import { writeSample } from '../src/demo/sample.js';
import { compareIngest } from './_publish-source.js';
import { S3RVER_KEYS, startNginx, startS3rver, type Baseline } from './_servers.js';
import { option, sizeOption } from './_util.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const rounds = Number(option(args, 'rounds', '2'));
  const origins = option(args, 'origins', 'nginx,s3').split(',');
  const dir = mkdtempSync(path.join(option(args, 'dir', tmpdir()), 'canopy-bench-origin-'));
  const www = path.join(dir, 'www');
  mkdirSync(www, { mode: 0o755 });
  // nginx's workers may run as another user: let them read the object.
  chmodSync(dir, 0o755);
  const servers: Baseline[] = [];
  const out = path.join(dir, 'out');
  const result: Record<string, unknown> = {};
  try {
    const object = path.join(www, 'object.bin');
    await writeSample(object, size, 'bench-origin');
    if (origins.includes('nginx')) {
      const nginx = await startNginx(dir, www);
      servers.push(nginx);
      const url = `${nginx.url}/object.bin`;
      result.nginx = { origin: 'nginx (loopback)', ...compareIngest('store-origin', url, size, out, curl(url, out), rounds, curl(url, out, true)) };
    }
    if (origins.includes('s3')) {
      const s3 = await startS3rver(dir, ['bench']);
      servers.push(s3);
      // The ingest child reads its S3 settings as a user's would: AWS_* variables.
      Object.assign(process.env, S3RVER_KEYS, { AWS_ENDPOINT_URL: s3.url });
      const client = await s3Client({});
      await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'object.bin', Body: createReadStream(object), ContentLength: size }));
      client.destroy();
      rmSync(object);
      // s3rver serves anonymous GETs: curl reads the same object from the same server.
      result.s3 = { origin: 's3rver (loopback, AWS SDK v3)', ...compareIngest('store-origin', 's3://bench/object.bin', size, out, curl(`${s3.url}/bench/object.bin`, out), rounds, curl(`${s3.url}/bench/object.bin`, out, true)) };
    }
    return result;
  } finally {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function curl(url: string, out: string, own = false): string {
  return `mkdir -p '${out}' && curl -sS -o '${out}/object.bin' '${url}' && sync${own ? ` '${out}/object.bin' '${out}'` : ''}`;
}
