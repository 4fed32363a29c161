/**
 * Start-up reconciliation of index and volumes, run by the writing process before it
 * serves anything. After a crash (or a volume that came back) it makes the index say
 * exactly what the disks hold:
 *
 * - temp files (writes cut short) are deleted, and packs no index row names (pack-write.ts:
 *   renamed, but the crash came before the index commit);
 * - a row of a packed block whose pack is missing or too short is dropped (marked lost
 *   ones stay lost), and a lost one whose pack is back is held again;
 * - a block file the index does not know (renamed, but the crash came before the index
 *   commit) is hashed and indexed if its bytes match its name, deleted if not;
 * - a row marked lost whose file is back (the volume recovered) is held again;
 * - a file that duplicates a block already held on another volume is deleted;
 * - a row whose file is gone is dropped; rows on volumes that are failed or no longer
 *   configured are marked lost;
 * - blocks no content uses (an ingest interrupted before its manifest) are deleted.
 */
import { readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { isHashHex, sha256Hex } from '../core/hash.js';
import type { BlockRow, IndexDb } from './index-db.js';
import type { Volume } from './volume.js';
import { makeDirs } from './make-dirs.js';

export interface ScrubReport {
  tempFiles: number;
  reindexed: number;
  recovered: number;
  corrupt: number;
  duplicates: number;
  dropped: number;
  lost: number;
  unreferenced: number;
}

export function scrub(index: IndexDb, volumes: readonly Volume[]): ScrubReport {
  const report: ScrubReport = { tempFiles: 0, reindexed: 0, recovered: 0, corrupt: 0, duplicates: 0, dropped: 0, lost: 0, unreferenced: 0 };
  const live = volumes.filter((v) => v.state !== 'failed');
  // First: rows on volumes that are failed or gone are lost, so that a file found below on
  // a live volume for such a row is taken as recovered, not as a duplicate to delete.
  const liveIds = new Set(live.map((v) => v.id));
  index.transaction(() => {
    for (const id of new Set(index.allBlocks().map((b) => b.volume))) {
      if (!liveIds.has(id)) report.lost += index.loseVolume(id);
    }
  });
  for (const volume of live) scrubVolume(index, volume, report);
  const byId = new Map(live.map((v) => [v.id, v]));
  for (const block of index.unreferencedBlocks()) {
    index.deleteBlock(block.hash);
    const volume = byId.get(block.volume);
    if (volume) rmSync(volume.blockPath(block.hash), { force: true });
    report.unreferenced++;
  }
  for (const volume of live) for (const pack of index.takeEmptiedPacks(volume.id)) rmSync(volume.packPath(pack), { force: true });
  return report;
}

function scrubVolume(index: IndexDb, volume: Volume, report: ScrubReport): void {
  const tmp = path.join(volume.dir, 'tmp');
  report.tempFiles += readdirSync(tmp).length;
  rmSync(tmp, { recursive: true, force: true });
  makeDirs(tmp);
  const expected = new Map(index.blocksOn(volume.id).map((b) => [b.hash, b]));
  scrubPacks(index, volume, expected, report);
  const blocksDir = path.join(volume.dir, 'blocks');
  for (const shard of readdirSync(blocksDir)) {
    for (const name of readdirSync(path.join(blocksDir, shard))) {
      const file = path.join(blocksDir, shard, name);
      if (expected.delete(name)) continue;
      const held = index.getBlock(name);
      if (held) {
        unlinkSync(file);
        report.duplicates++;
        continue;
      }
      if (index.isLost(name)) {
        // The volume came back: trust the file as before its loss (every read verifies it).
        index.putBlock({ hash: name, volume: volume.id, length: statSync(file).size });
        report.recovered++;
        continue;
      }
      // An unknown file: index it only if its bytes really are the block it is named after.
      const data = isHashHex(name) ? readFileSync(file) : undefined;
      if (data && sha256Hex(data) === name) {
        index.putBlock({ hash: name, volume: volume.id, length: data.length });
        report.reindexed++;
      } else {
        unlinkSync(file);
        report.corrupt++;
      }
    }
  }
  for (const missing of expected.values()) {
    index.deleteBlock(missing.hash);
    report.dropped++;
  }
}

/**
 * Packed blocks: a row whose pack holds its bytes is expected no further (the first read
 * verifies it, as any block found on disk); a lost one is held again. A pack no row names
 * is deleted. Rows left in `expected` are dropped by the caller.
 */
function scrubPacks(index: IndexDb, volume: Volume, expected: Map<string, BlockRow>, report: ScrubReport): void {
  const dir = path.join(volume.dir, 'packs');
  const sizes = new Map(readdirSync(dir).map((name) => [name, statSync(path.join(dir, name)).size]));
  const named = new Set<string>();
  for (const row of index.packedOn(volume.id)) {
    named.add(row.pack);
    const whole = (row.offset ?? 0) + row.length <= (sizes.get(row.pack) ?? -1);
    if (!whole) continue;
    if (row.state === 'ok') expected.delete(row.hash);
    else {
      index.restoreBlock(row.hash);
      report.recovered++;
    }
  }
  for (const name of sizes.keys()) {
    if (named.has(name)) continue;
    unlinkSync(path.join(dir, name));
    report.tempFiles++;
  }
}
