/**
 * A member node loads none of the root's or the ingest's modules: they reach a process only
 * through node/root-kit.ts, which CanopyNode.open loads with `import()` on a root (0.7 MiB of a
 * member's heap, notes/issue-15.md Session 22). Checked on the static graph of what `canopy
 * node` loads: every import and re-export that stays in the JavaScript (with
 * verbatimModuleSyntax an `import { type X }` stays, as an empty import, and loads its
 * module; only `import type` and `export type` go), from the CLI's entry and the `node`
 * command; dynamic imports are not followed (they load only when their code runs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { relativeImports } from '../../helpers/src-files.js';

const SRC = path.resolve('src');
/** Two small modules a member uses itself: the publish media type the API answers to, and the join token's root addresses. */
const ALLOWED = new Set(['ingest/upload-format.ts', 'root/token-roots.ts']);

/** Relative modules `text` loads when it is evaluated: static imports and re-exports, not type-only ones, not `import()`. */
export function loadedSpecifiers(text: string): string[] {
  return relativeImports(text).filter((i) => !i.typeOnly && !i.dynamic).map((i) => i.spec);
}

function reached(entries: string[]): string[] {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const s of loadedSpecifiers(readFileSync(file, 'utf8'))) walk(path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts'));
  };
  entries.forEach(walk);
  return [...seen].map((f) => path.relative(SRC, f));
}

describe('what a member loads', () => {
  it('reads static imports and re-exports, and passes type-only and dynamic ones', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { type B } from './b.js';",
      "import c from './c.js';",
      "export { d } from './d.js';",
      "export type { E } from './e.js';",
      "import './f.js';",
      "const g = await import('./g.js');",
      "import pg from 'pg';",
    ].join('\n');
    assert.deepEqual(loadedSpecifiers(text), ['./b.js', './c.js', './d.js', './f.js']);
  });

  it('`canopy node` loads no module of root/ or ingest/ but the two it uses itself', () => {
    const files = reached([path.join(SRC, 'cli', 'main.ts'), path.join(SRC, 'cli', 'commands', 'node.ts')]);
    assert.ok(files.includes(path.join('node', 'components.ts')), 'the walk reaches the composition');
    const rootOnly = files.filter((f) => /^(root|ingest)\//.test(f) && !ALLOWED.has(f));
    assert.deepEqual(rootOnly, [], 'a member would load these: reach them through node/root-kit.ts');
    assert.ok(!files.includes(path.join('node', 'root-kit.ts')));
  });
});
