/**
 * Temporary directories for one test file: each call makes a new one under the system's temp
 * directory, and all of them are removed when the file's tests are done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, type SuiteContext, type TestContext } from 'node:test';

export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

export interface KeptOnFailure {
  path: string;
  /** Removes the directory if every test of the suite ran and passed; otherwise keeps it and prints where it is. */
  removeIfPassed: () => void;
}

/**
 * A suite's temporary directory that outlives a failure: the nodes' logs and data in it are
 * the evidence of what went wrong, which a removal in the suite's `after` would destroy. Call
 * it inside `describe` (it adds hooks to the suite), and `removeIfPassed()` last in the
 * suite's `after`, once its processes are stopped.
 *
 * The runner tells hooks little: `after` cannot see results, and on Node 20 a test that timed
 * out is reported to `afterEach` only after the suite's `after` has run. So a test counts as
 * passed only when its `afterEach` saw it pass; one started (`beforeEach`) but not seen
 * passing, or no test started at all (a failed `before`), keeps the directory.
 */
export function keptOnFailure(prefix: string): KeptOnFailure {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const started = new Set<string>();
  const passed = new Set<string>();
  beforeEach((t) => void started.add(testOf(t).fullName));
  afterEach((t) => void (testOf(t).passed === true && passed.add(testOf(t).fullName)));
  return {
    path: dir,
    removeIfPassed: () => {
      if (started.size > 0 && [...started].every((name) => passed.has(name))) return rmSync(dir, { recursive: true, force: true });
      const failed = [...started].filter((name) => !passed.has(name));
      const which = failed.length > 0 ? `the failed test(s) ${failed.map((n) => `"${n}"`).join(', ')}` : 'a suite whose tests never ran (a hook failed)';
      console.error(`kept the directory of ${which}, with its nodes' logs: ${dir}`);
    },
  };
}

/**
 * The context a `beforeEach` or `afterEach` hook is given is its test's (typed wider, as any
 * hook's). `passed` is there from Node 20.12 on; @types/node 20 does not declare it yet.
 */
function testOf(t: TestContext | SuiteContext): TestContext & { readonly passed?: boolean } {
  return t as TestContext & { readonly passed?: boolean };
}
