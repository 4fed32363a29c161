/**
 * keptOnFailure (test/helpers/temp-dirs.ts) in a real run of node's test runner: a suite
 * whose tests all pass loses its directory; a failed test, a test that timed out and a failed
 * `before` each keep theirs and print its path. Node 20 reports a timed-out test late (after
 * the suite's `after`), which a check of `afterEach` results alone would take for a pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tempDirs } from '../../helpers/temp-dirs.js';

const HELPER = pathToFileURL(path.resolve('test/helpers/temp-dirs.ts')).href;

/** Four suites, each printing its directory first: `DIR <suite> <path>`. */
const FIXTURE = `
import { after, before, describe, it } from 'node:test';
import { keptOnFailure } from ${JSON.stringify(HELPER)};
const suites = {
  passes: { test: () => {} },
  fails: { test: () => { throw new Error('a failing assertion'); } },
  'times out': { test: () => new Promise(() => setTimeout(() => {}, 1_000)), timeout: 100 },
  'before fails': { test: () => {}, before: true },
};
for (const [name, s] of Object.entries(suites)) {
  describe(name, () => {
    const dir = keptOnFailure('canopy-kept-');
    before(() => {
      console.log('DIR ' + name + ' ' + dir.path);
      if (s.before) throw new Error('set-up failed');
    });
    after(() => dir.removeIfPassed());
    it('first', () => {});
    it('second', { timeout: s.timeout }, s.test);
  });
}
`;

describe('a netns suite keeps its directory when it fails', () => {
  const tempDir = tempDirs('canopy-kept-fixture-');

  it('removes it when every test passed, keeps and names it otherwise', () => {
    const fixture = path.join(tempDir(), 'suites.mjs');
    writeFileSync(fixture, FIXTURE);
    // A run of its own, not a subtest of this one: without the variable by which the runner marks its children.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { encoding: 'utf8', timeout: 60_000, env });
    const dirs = new Map([...r.stdout.matchAll(/DIR (.+) (\/\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    try {
      assert.equal(r.status, 1, `the fixture's failures fail its run\n${r.stdout}\n${r.stderr}`);
      assert.deepEqual([...dirs.keys()].sort(), ['before fails', 'fails', 'passes', 'times out']);
      assert.equal(existsSync(dirs.get('passes')!), false, 'removed after a passing suite');
      const out = r.stdout + r.stderr;
      for (const name of ['fails', 'times out', 'before fails']) {
        assert.equal(existsSync(dirs.get(name)!), true, `${name}: kept`);
        assert.ok(out.includes(`with its nodes' logs: ${dirs.get(name)}`), `${name}: its path is printed\n${out}`);
      }
      assert.match(out, /kept the directory of the failed test\(s\) "fails > second"/);
      assert.match(out, /kept the directory of the failed test\(s\) "times out > second"/);
      assert.match(out, /kept the directory of a suite whose tests never ran/);
    } finally {
      for (const d of dirs.values()) rmSync(d, { recursive: true, force: true });
    }
  });
});
