/**
 * `canopy publish http://...`'s ingest (ranged GETs from a local nginx, hash, store as the
 * root does: fsynced blocks on two volumes) against `curl -o` of the same object + `sync`,
 * interleaved. Options: --size 1GiB --rounds 2.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeSample } from '../src/demo/sample.js';
import { compareIngest } from './_publish-source.js';
import { startNginx } from './_servers.js';
import { option, sizeOption } from './_util.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const rounds = Number(option(args, 'rounds', '2'));
  const dir = mkdtempSync(path.join(option(args, 'dir', tmpdir()), 'canopy-bench-origin-'));
  const www = path.join(dir, 'www');
  mkdirSync(www, { mode: 0o755 });
  // nginx's workers may run as another user: let them read the object.
  chmodSync(dir, 0o755);
  const nginx = await startNginx(dir, www);
  try {
    await writeSample(path.join(www, 'object.bin'), size, 'bench-origin');
    const url = `${nginx.url}/object.bin`;
    const out = path.join(dir, 'out');
    const baseline = `mkdir -p '${out}' && curl -sS -o '${out}/object.bin' '${url}' && sync`;
    return { origin: 'nginx (loopback)', ...compareIngest('store-origin', url, size, out, baseline, rounds) };
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
