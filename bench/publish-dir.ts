/**
 * `canopy publish DIR`'s ingest (walk, read, hash, store as the root does: fsynced blocks
 * on two volumes) of a tree of mixed files against `tar -c` of it to /dev/null plus
 * `cp -r` + `sync`, interleaved. Options: --size 512MiB (total) --files 500 --rounds 2.
 * The issue's figure is 2,000 files and 2 GiB: `--files 2000 --size 2GiB`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeSample } from '../src/demo/sample.js';
import { compareIngest } from './_publish-source.js';
import { log, option, sizeOption } from './_util.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const total = sizeOption(args, 'size', '512MiB');
  const files = Number(option(args, 'files', '500'));
  const rounds = Number(option(args, 'rounds', '2'));
  const dir = mkdtempSync(path.join(option(args, 'dir', tmpdir()), 'canopy-bench-dir-'));
  try {
    const tree = path.join(dir, 'tree');
    // Mixed sizes: most files small (1-64 KiB), a few large shards carrying most of the bytes.
    const large = Math.max(1, Math.round(files / 50));
    const smallBytes = files - large > 0 ? Math.min(64 * 1024, Math.floor((total * 0.05) / (files - large))) : 0;
    let written = 0;
    for (let i = 0; i < files; i++) {
      const sub = path.join(tree, `part ${i % 10}`, `é${i % 7}`);
      mkdirSync(sub, { recursive: true });
      const size = i < large ? Math.floor((total - smallBytes * (files - large)) / large) : Math.max(1024, smallBytes - (i % 13) * 1024);
      await writeSample(path.join(sub, `file-${i}.bin`), size, `dir ${i}`);
      written += size;
    }
    log(`wrote ${files} files, ${written} bytes`);
    const out = path.join(dir, 'out');
    const baseline = `tar -cf /dev/null -C '${dir}' tree && cp -r '${tree}' '${out}' && sync`;
    // The same made durable by fsyncing only the copy's files and directories (not others' writes).
    const ownSync = `tar -cf /dev/null -C '${dir}' tree && cp -r '${tree}' '${out}' && find '${out}' -print0 | xargs -0 sync`;
    return { files, ...compareIngest('store-dir', tree, written, out, baseline, rounds, ownSync) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
