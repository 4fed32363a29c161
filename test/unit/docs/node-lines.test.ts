/**
 * The Node.js lines `engines` admits: only whole lines (^MAJOR.MINOR.PATCH, never an open
 * range that would admit a line nobody tested), at least those CI runs (the .deb's and
 * scripts/test-node.sh's 24, the npm-install test's line in .ci/run, and the runtime running
 * these tests), the same in the lock file, and the README's "Supported runtimes" names them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const read = (file: string) => readFileSync(file, 'utf8');
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
const lock = (JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node: string } }> }).packages['']!.engines!.node;

/** Majors of an `^A.B.C || ^D.E.F` range; anything else (>=, *, x) is refused: it would admit untested lines. */
function majors(range: string): number[] {
  return range.split('||').map((part) => {
    const m = /^\s*\^(\d+)\.\d+\.\d+\s*$/.exec(part);
    assert.ok(m, `engines part "${part}" admits lines nobody tests: use ^MAJOR.MINOR.PATCH`);
    return Number(m[1]);
  });
}

describe('supported Node.js lines', () => {
  it('engines admits whole lines only, every line CI runs among them, and the lock file agrees', () => {
    assert.equal(lock, engines);
    const ci = read('.ci/run');
    const npmLine = /CANOPY_TEST_NODE_MAJOR=(\d+) .*test\/package/.exec(ci);
    assert.ok(npmLine, '.ci/run runs test/package with CANOPY_TEST_NODE_MAJOR');
    assert.ok(/scripts\/test-node\.sh 24\b/.test(ci), '.ci/run runs the suite under Node 24');
    const tested = [
      Number(process.versions.node.split('.')[0]),
      Number(/major="\$\{1:-(\d+)\}"/.exec(read('scripts/test-node.sh'))![1]),
      Number(/CANOPY_NODE_MAJOR:-(\d+)/.exec(read('scripts/package.sh'))![1]),
      Number(npmLine[1]),
    ];
    const admitted = majors(engines);
    for (const major of tested) assert.ok(admitted.includes(major), `engines "${engines}" leaves out Node ${major}, which CI runs`);
  });

  it('the README names the supported lines', () => {
    const sentence = /Supported runtimes:[\s\S]*?(?:\n\n|$)/.exec(read('README.md'))?.[0];
    assert.ok(sentence, 'README has a "Supported runtimes:" paragraph');
    for (const major of majors(engines)) assert.match(sentence, new RegExp(`\\b${major}\\b`), `README does not name Node ${major}`);
  });
});
