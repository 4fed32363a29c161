#!/usr/bin/env node
// Finds test files (Node 20's runner has no glob support) and runs them with node's test
// runner under tsx in two groups: the files under test/unit two at a time (each spends most
// of its time starting tsx, not testing: 2 cores are then both busy), then every other file
// one at a time, so multi-process tests do not fight over 2 cores.
// CANOPY_UNIT_CONCURRENCY=N sets the first group's (default 2); CANOPY_TEST_CONCURRENCY=N the
// second's (default 1) and, when set, the first's too unless CANOPY_UNIT_CONCURRENCY is set.
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/)
// Tests run with CANOPY_POOL_POISON=1 (inherited by the processes they start): a block
// buffer released while still in use then serves poison bytes, which byte checks catch
// (src/core/block-pool.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function find(p) {
  if (statSync(p).isFile()) return [p];
  return readdirSync(p, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(p, e.name);
    if (e.isDirectory()) return find(full);
    return e.name.endsWith('.test.ts') ? [full] : [];
  });
}

function concurrencyOf(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return n;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap(find).sort();
const isUnit = (f) => path.relative('test/unit', f).split(path.sep)[0] !== '..';
const others = concurrencyOf('CANOPY_TEST_CONCURRENCY', 1);
const unit = concurrencyOf('CANOPY_UNIT_CONCURRENCY', concurrencyOf('CANOPY_TEST_CONCURRENCY', 2));
const groups = [
  { files: files.filter(isUnit), concurrency: unit },
  { files: files.filter((f) => !isUnit(f)), concurrency: others },
].filter((g) => g.files.length > 0);
let status = 0;
for (const g of groups) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${g.concurrency}`, ...g.files], { stdio: 'inherit', env: { CANOPY_POOL_POISON: '1', ...process.env } });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
