import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { describeStuckStart, reportEnv } from '../../../src/demo/stuck-start.js';
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
});
