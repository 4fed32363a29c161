/**
 * Reads every block of every content the index lists and checks it against its hash:
 * what `canopy store verify` runs, from a separate read-only process, while the node keeps
 * writing. Reads go several at a time so all volumes are busy.
 */
import type { BlockStore } from './block-store.js';

export interface VerifyReport {
  contents: number;
  complete: number;
  blocks: number;
  verified: number;
  missing: number;
  unreadable: number;
  bytes: number;
}

const PARALLEL_READS = 4;

export async function verifyStore(store: BlockStore): Promise<VerifyReport> {
  const report: VerifyReport = { contents: 0, complete: 0, blocks: 0, verified: 0, missing: 0, unreadable: 0, bytes: 0 };
  const seen = new Set<string>();
  for (const row of store.index.allContents()) {
    const hashes = ((JSON.parse(row.manifest) as { blocks: { hash: string }[] }).blocks ?? []).map((b) => b.hash);
    report.contents++;
    // A block shared with a content already checked counts once; here only whether it is held.
    let complete = hashes.every((h) => !seen.has(h) || store.has(h));
    const queue = hashes.filter((h) => !seen.has(h));
    const work = async () => {
      for (let hash = queue.shift(); hash !== undefined; hash = queue.shift()) {
        if (seen.has(hash)) continue;
        seen.add(hash);
        report.blocks++;
        if (!store.has(hash)) {
          report.missing++;
          complete = false;
          continue;
        }
        try {
          const data = await store.get(hash);
          report.bytes += data.length;
          report.verified++;
        } catch {
          report.unreadable++;
          complete = false;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_READS }, work));
    if (complete) report.complete++;
  }
  return report;
}
