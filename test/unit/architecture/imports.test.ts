/**
 * Imports of Node's own modules that cost every process: node:http is loaded through
 * src/http/node-http.ts (`require`), never imported as ESM, which on Node 24 loads Node's
 * bundled undici into the process (see that file). Type-only imports are erased and fine.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sourceFiles } from '../../helpers/src-files.js';

const SRC = path.resolve('src');
const SHIM = path.join(SRC, 'http', 'node-http.ts');

/** Lines of `text` that load node:http as a value: a static import or export that is not `import type`, or a dynamic import. */
export function httpValueImports(text: string): string[] {
  const statements = [...text.matchAll(/(?:^|\n)\s*((?:import|export)\s[^;]*?from\s*['"](?:node:)?http['"])/g)].map((m) => m[1]!.replace(/\s+/g, ' '));
  const dynamic = [...text.matchAll(/\bimport\(\s*['"](?:node:)?http['"]\s*\)/g)].map((m) => m[0]);
  return [...statements.filter((s) => !/^import type\s/.test(s)), ...dynamic];
}

describe('imports of node:http', () => {
  it('finds value imports and passes type-only ones', () => {
    assert.deepEqual(httpValueImports("import type http from 'node:http';\nimport type { IncomingMessage } from 'node:http';"), []);
    assert.equal(httpValueImports("import http from 'node:http';").length, 1);
    assert.equal(httpValueImports("import { type IncomingMessage, type ServerResponse } from 'node:http';").length, 1);
    assert.equal(httpValueImports("import {\n  createServer,\n} from \"http\";").length, 1);
    assert.equal(httpValueImports("const h = await import('node:http');").length, 1);
    assert.deepEqual(httpValueImports("import https from 'node:https';\nimport { request } from 'undici';"), []);
  });

  it('no file in src imports node:http as a value but src/http/node-http.ts', () => {
    const found = sourceFiles(SRC)
      .filter((f) => f !== SHIM)
      .flatMap((f) => httpValueImports(readFileSync(f, 'utf8')).map((s) => `${path.relative(SRC, f)}: ${s}`));
    assert.deepEqual(found, [], 'take node:http values from src/http/node-http.ts (nodeHttp), types with `import type`');
  });
});
