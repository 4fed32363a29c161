/**
 * One timed ingest in its own process, so its peak RSS is its own: prints
 * {"seconds":S,"cpuSeconds":C,"maxRssBytes":B,"blocks":N}. Modes: `store FILE DIR` (two volumes under DIR),
 * `store-dir TREE DIR` (a directory content, bench/publish-dir.ts), `store-origin URL DIR` (an http(s):// or
 * s3:// origin read by ranges, bench/publish-origin.ts; S3 settings from AWS_* variables),
 * `hash FILE` (analyse and hash, store nothing) and `put FILE DIR BLOCKSIZE` (the store's
 * writes alone, as many blocks, no read or hash). CANOPY_HASH_THREADS overrides the
 * number of hash worker threads (0 = main thread), to compare.
 */
import { createHash, randomBytes } from 'node:crypto';
import { newEd25519PrivateKey } from '../src/core/fresh-keys.js';
import { statSync } from 'node:fs';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { ingestDirectory } from '../src/ingest/ingest-directory.js';
import { openOrigin } from '../src/client/origins/open-origin.js';
import { hashOnlySink, storeSink } from '../src/ingest/sinks.js';
import { BlockStore } from '../src/store/block-store.js';

const [mode, file, dir] = process.argv.slice(2);
const key = newEd25519PrivateKey();
const store = mode?.startsWith('store') || mode === 'put' ? new BlockStore(`${dir}/data`, [{ path: `${dir}/v1` }, { path: `${dir}/v2` }]) : undefined;
if (mode === 'put') {
  // The store's write protocol alone (temp file, fdatasync, rename, directory fsync, index
  // row) for as many blocks of the same size, no reading or hashing, through the ingest's
  // sink (16 blocks in flight, as the pipeline's buffers allow): the floor for `store`.
  const { size } = statSync(file!);
  const blockSize = Number(process.argv[5]);
  const data = randomBytes(blockSize);
  const sink = storeSink(store!);
  const started = process.hrtime.bigint();
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i * blockSize < size; i++) {
    const p: Promise<unknown> = sink.put(data, createHash('sha256').update(String(i)).digest('hex'), undefined as never).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 16) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await sink.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const commits = store!.commitStats();
  store!.close();
  process.stdout.write(`${JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, blocks: 0, blockSize, commits })}\n`);
  process.exit(0);
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const hashThreads = process.env.CANOPY_HASH_THREADS === undefined ? undefined : Number(process.env.CANOPY_HASH_THREADS);
const sink = store ? storeSink(store) : hashOnlySink;
const options = { name: 'bench.bin', criteria: '*', origin: 'bench', key, hashThreads };
const origin = mode === 'store-origin' ? await openOrigin(file!, {}) : undefined;
const r = mode === 'store-dir' ? await ingestDirectory(file!, sink, options) : origin ? await origin.ingest(sink, options) : await ingestFile(file!, sink, options);
origin?.close();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const commits = store?.commitStats();
store?.close();
// CPU of the ingest itself, all threads (hash workers included), without the process's start-up (module loading).
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024, blocks: r.manifest.blocks.length, blockSize: r.manifest.blockSize, commits })}\n`);
