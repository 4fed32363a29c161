/**
 * The block store striped over volumes: ingest a content into 3 volumes and into 1, read
 * each back sequentially through the virtual file layer (read-ahead over several volumes),
 * and in the same run `cp`+`sync` of the same file (the write baseline) and `cat` of it
 * (the read baseline). Page caches of the files read are dropped first (`dd iflag=nocache`
 * per file, so other processes' caches are left alone), so reads come from the device.
 * Options: --size 1GiB --block-size 4MiB --runs 3 --dir DIR (where volumes live).
 *
 * On this machine every "volume" is a directory on the same virtual disk, so striping
 * cannot add device bandwidth; the figures show its overhead (or its gain from parallel
 * requests on one device), not what separate disks would give.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newEd25519PrivateKey } from '../src/core/fresh-keys.js';
import type { Manifest } from '../src/core/manifest.js';
import { writeSample } from '../src/demo/sample.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { storeSink } from '../src/ingest/sinks.js';
import { BlockStore } from '../src/store/block-store.js';
import { VirtualFile } from '../src/vfile/virtual-file.js';
import { log, mbps, median, option, round, sizeOption, timed, timedCommand } from './_util.js';

function dropCache(file: string): void {
  spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

function dropStoreCache(volumeDirs: string[]): void {
  for (const dir of volumeDirs) {
    const blocks = path.join(dir, 'blocks');
    for (const shard of readdirSync(blocks)) for (const f of readdirSync(path.join(blocks, shard))) dropCache(path.join(blocks, shard, f));
  }
}

interface StoreRun {
  writeSeconds: number;
  readSeconds: number;
  bytesPerVolume: number[];
  balance: number | null;
}

async function runStore(src: string, size: number, blockSize: number, volumeCount: number, dir: string): Promise<StoreRun> {
  const volumeDirs = Array.from({ length: volumeCount }, (_, i) => path.join(dir, `vol${i}`));
  const store = new BlockStore(path.join(dir, 'data'), volumeDirs.map((p) => ({ path: p })));
  try {
    const key = newEd25519PrivateKey();
    const write = await timed(() => ingestFile(src, storeSink(store), { name: 'bench.bin', criteria: '*', origin: 'bench', key, blockSize }));
    const manifest: Manifest = write.value.manifest;
    dropStoreCache(volumeDirs);
    const read = await timed(async () => {
      let bytes = 0;
      for await (const chunk of new VirtualFile(manifest, store).read(0, size - 1)) bytes += chunk.length;
      return bytes;
    });
    if (read.value !== size) throw new Error(`read back ${read.value} bytes of ${size}`);
    const stats = store.stats();
    return { writeSeconds: write.seconds, readSeconds: read.seconds, bytesPerVolume: stats.volumes.map((v) => v.bytes), balance: stats.balance };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const blockSize = sizeOption(args, 'block-size', '4MiB');
  const runs = Number(option(args, 'runs', '3'));
  const base = option(args, 'dir', tmpdir());
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, 'canopy-bench-store-'));
  try {
    const src = path.join(dir, 'src.bin');
    log(`writing a ${size}-byte sample`);
    await writeSample(src, size, 'bench-store');
    spawnSync('sync'); // Dirty pages cannot be dropped from the cache; written ones can.
    const results = { write3: [] as number[], read3: [] as number[], write1: [] as number[], read1: [] as number[], cp: [] as number[], cat: [] as number[] };
    let last3: StoreRun | undefined;
    for (let r = 0; r < runs; r++) {
      log(`run ${r + 1}/${runs}: cp+sync, cat, 3 volumes, 1 volume`);
      results.cp.push(timedCommand('sh', ['-c', `cp ${src} ${dir}/copy.bin && sync`]));
      rmSync(path.join(dir, 'copy.bin'));
      dropCache(src);
      results.cat.push(timedCommand('sh', ['-c', `cat ${src} > /dev/null`]));
      last3 = await runStore(src, size, blockSize, 3, path.join(dir, 'three'));
      results.write3.push(last3.writeSeconds);
      results.read3.push(last3.readSeconds);
      const one = await runStore(src, size, blockSize, 1, path.join(dir, 'one'));
      results.write1.push(one.writeSeconds);
      results.read1.push(one.readSeconds);
    }
    const devices = new Set([statSync(dir).dev]);
    return {
      size,
      blockSize,
      runs,
      volumes: 3,
      bytesPerVolume: last3!.bytesPerVolume,
      balance: last3!.balance,
      writeMBps: mbps(size, median(results.write3)),
      cpMBps: mbps(size, median(results.cp)),
      writeVsCp: round(median(results.cp) / median(results.write3)),
      writeMBps1: mbps(size, median(results.write1)),
      readMBps: mbps(size, median(results.read3)),
      readMBps1: mbps(size, median(results.read1)),
      readGain: round(median(results.read1) / median(results.read3)),
      catMBps: mbps(size, median(results.cat)),
      readVsCat: round(median(results.cat) / median(results.read3)),
      sameDevice: devices.size === 1,
      // Peak resident memory of this process over all runs: flat in the content size (blocks in flight only).
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      note: 'all volumes are directories on one virtual disk here: striping cannot add device bandwidth; medians of runs on a shared 2-core machine',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
