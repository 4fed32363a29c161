#!/usr/bin/env node
// Finds test files (Node 20's runner has no glob support) and runs them with node's test
// runner under tsx, one file at a time so multi-process tests do not fight over 2 cores.
// CANOPY_TEST_CONCURRENCY=N runs N files at once: for runs of mostly pure unit tests (the
// second-runtime run in CI), where each file's time is tsx's start-up, not the machine.
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

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap(find).sort();
const concurrency = Number(process.env.CANOPY_TEST_CONCURRENCY ?? '1');
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`CANOPY_TEST_CONCURRENCY must be a positive integer, not ${process.env.CANOPY_TEST_CONCURRENCY}`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit', env: { CANOPY_POOL_POISON: '1', ...process.env } });
process.exit(r.status ?? 1);
