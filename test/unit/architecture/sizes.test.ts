/**
 * The size rule of the house: a file past about 400 lines, or a function past about 60, usually
 * holds two ideas. Lines are counted as written (comments included, since a file a newcomer
 * must read is as long as its text). A few shapes are long by nature and named below with the
 * reason; any other file or function over the limit fails this test, so a split is decided when
 * code is written, not found later.
 *
 * Written also in docs/ARCHITECTURE.md ("Size").
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sourceFiles as sources } from '../../helpers/src-files.js';
import ts from 'typescript';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 60;

/** Functions that are a table (one short arm per route, message type or CLI option), not a body of logic. */
const LONG_TABLES: Record<string, string> = {
  'api/content-routes.ts:contentRoutes': 'route table: one short handler per route',
  'node/peer-service.ts:handlePeerRequest': 'message table: one arm per peer message type',
};

const SRC = path.resolve('src');


interface FunctionSize { name: string; lines: number }

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) return node.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return `${(node.parent as ts.ClassDeclaration).name?.getText(sf) ?? 'class'}.constructor`;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyDeclaration(parent)) return parent.name.getText(sf);
  return '(anonymous)';
}

function functionsOf(file: string): FunctionSize[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ name: nameOf(node, sf), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const files = sources(SRC);

describe('the size rule', () => {
  it('no file under src/ is over 400 lines', () => {
    const long = files
      .map((f) => ({ file: path.relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    assert.deepEqual(long, [], `split these files (one idea per file):\n${long.join('\n')}`);
  });

  it('no function under src/ is over 60 lines, tables excepted by name', () => {
    const long: string[] = [];
    for (const f of files) {
      const rel = path.relative(SRC, f);
      for (const fn of functionsOf(f)) {
        if (fn.lines > MAX_FUNCTION_LINES && !LONG_TABLES[`${rel}:${fn.name}`]) long.push(`${rel}:${fn.name}: ${fn.lines} lines`);
      }
    }
    assert.deepEqual(long, [], `split these functions:\n${long.join('\n')}`);
  });

  it('every excepted table still exists and is still long (no stale exceptions)', () => {
    for (const key of Object.keys(LONG_TABLES)) {
      const [rel, name] = key.split(':') as [string, string];
      const fn = functionsOf(path.join(SRC, rel)).find((f) => f.name === name);
      assert.ok(fn, `${key} is excepted but no longer exists: remove it from LONG_TABLES`);
      assert.ok(fn.lines > MAX_FUNCTION_LINES, `${key} is ${fn.lines} lines now: remove its exception`);
    }
  });
});
