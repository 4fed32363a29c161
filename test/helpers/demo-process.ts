/**
 * `npm start`'s demo as the README tests run it (readme-first-publish, netns/origins-doc):
 * built if the checkout has no dist/ yet, started by the caller (in this network or a
 * namespace), and ready once it printed its `verified:` line.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** What `npm start` runs once it has built, from the checkout: node + these arguments. */
export const DEMO_ARGS = ['bin/canopy.cjs', 'demo', '--size', '4MiB'];

/** npm test builds first; a bare run of a test file builds what `npm start` would. */
export function ensureBuilt(repo: string): void {
  if (!existsSync(path.join(repo, 'dist', 'cli', 'main.js'))) assert.equal(spawnSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: 'inherit' }).status, 0);
}

/** Waits for the demo's `verified:` line; fails with its output if it stops first. */
export async function demoReady(demo: ChildProcess): Promise<void> {
  let log = '';
  demo.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  for await (const line of createInterface({ input: demo.stdout! })) {
    log += `${line}\n`;
    if (line.startsWith('verified:')) break;
  }
  assert.equal(demo.exitCode, null, `the demo stopped: ${log}`);
  demo.stdout!.resume();
}
