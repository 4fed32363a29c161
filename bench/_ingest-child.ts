/**
 * One timed ingest in its own process, so its peak RSS is its own: prints
 * {"seconds":S,"maxRssBytes":B,"blocks":N}. Modes: `store FILE DIR` (two volumes under DIR)
 * and `hash FILE` (analyse and hash, store nothing). CANOPY_HASH_THREADS overrides the
 * number of hash worker threads (0 = main thread), to compare.
 */
import { generateKeyPairSync } from 'node:crypto';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { hashOnlySink, storeSink } from '../src/ingest/sinks.js';
import { BlockStore } from '../src/store/block-store.js';

const [mode, file, dir] = process.argv.slice(2);
const key = generateKeyPairSync('ed25519').privateKey;
const store = mode === 'store' ? new BlockStore(`${dir}/data`, [{ path: `${dir}/v1` }, { path: `${dir}/v2` }]) : undefined;
const t0 = process.hrtime.bigint();
const hashThreads = process.env.CANOPY_HASH_THREADS === undefined ? undefined : Number(process.env.CANOPY_HASH_THREADS);
const r = await ingestFile(file!, store ? storeSink(store) : hashOnlySink, { name: 'bench.bin', criteria: '*', origin: 'bench', key, hashThreads });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
store?.close();
process.stdout.write(`${JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, blocks: r.manifest.blocks.length, blockSize: r.manifest.blockSize })}\n`);
