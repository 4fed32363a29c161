import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { describeStuckStart, logTail, recordStartFailure, reportEnv } from '../../../src/demo/stuck-start.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

describe('what a node stuck in its start was doing', () => {
  const tempDir = tempDirs('canopy-stuck-');

  it('names its state, its JavaScript stack and handles from a diagnostic report, and its last log lines', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'node.log');
    writeFileSync(log, 'first line\nopening the store\n');
    // A process waiting forever on a timer, as a start blocked on an await would.
    const child = spawn(process.execPath, ['-e', 'setInterval(function waitingForever() {}, 60_000)'], { env: { ...process.env, NODE_OPTIONS: reportEnv(dir, undefined) }, stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      await new Promise((r) => setTimeout(r, 300));
      const text = await describeStuckStart(child, dir, log);
      assert.match(text, /machine load \d/);
      assert.match(text, /state [RS], CPU \d+\.\d\d s, threads \{/);
      assert.match(text, /report .*report\.[^ ]*\.json: JS stack \[/);
      assert.match(text, /active handles \{[^}]*"timer"/);
      assert.match(text, /opening the store$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('says so when the process has already gone and there is no log', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(child, 'exit');
    const text = await describeStuckStart(child, dir, path.join(dir, 'node.log'));
    assert.doesNotMatch(text, /state /);
    assert.match(text, /no log$/);
  });

  it('keeps a copy where CANOPY_STUCK_LOG says, for CI to print last, and nothing without it', () => {
    const dir = tempDir();
    const file = path.join(dir, 'start-failures.log');
    const before = process.env.CANOPY_STUCK_LOG;
    try {
      delete process.env.CANOPY_STUCK_LOG;
      recordStartFailure('not recorded');
      process.env.CANOPY_STUCK_LOG = file;
      recordStartFailure('node a was not ready\nlast lines');
      recordStartFailure('second');
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /not recorded/);
      assert.match(text, /^--- \d{4}-.*\(pid \d+, .*\)\nnode a was not ready\nlast lines\n--- .*\nsecond\n$/);
      process.env.CANOPY_STUCK_LOG = path.join(dir, 'missing-dir', 'x.log');
      recordStartFailure('cannot be written, and does not throw');
    } finally {
      if (before === undefined) delete process.env.CANOPY_STUCK_LOG;
      else process.env.CANOPY_STUCK_LOG = before;
    }
  });

  it('shows the last lines of a log, whole lines only, read from its end', () => {
    const dir = tempDir();
    const log = path.join(dir, 'node.log');
    const lines = (n: number, width = 0) => Array.from({ length: n }, (_, i) => `line ${i + 1}`.padEnd(width, 'x'));
    writeFileSync(log, `${lines(100).join('\n')}\n`);
    assert.equal(logTail(log, 40), lines(100).slice(60).join('\n'));
    writeFileSync(log, lines(3).join('\n'));
    assert.equal(logTail(log, 40), lines(3).join('\n'), 'fewer lines than asked, no final newline');
    // Past the 64 KiB read from its end: the last lines still, the first one not cut.
    writeFileSync(log, `${lines(5000, 100).join('\n')}\n`);
    assert.equal(logTail(log, 40), lines(5000, 100).slice(-40).join('\n'));
    // Lines so long that 40 do not fit in those 64 KiB: the whole ones that do.
    writeFileSync(log, `${lines(100, 5000).join('\n')}\n`);
    const tail = logTail(log, 40).split('\n');
    assert.deepEqual(tail, lines(100, 5000).slice(-tail.length));
    assert.ok(tail.length >= 12 && tail.length < 40, `${tail.length} lines`);
    writeFileSync(log, '');
    assert.equal(logTail(log, 40), 'empty log');
    assert.equal(logTail(path.join(dir, 'missing.log'), 40), 'no log');
  });
});
