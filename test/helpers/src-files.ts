/** The TypeScript files under a folder, recursively: what the architecture tests read. */
import { readdirSync } from 'node:fs';
import path from 'node:path';

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** An import a source file makes: `typeOnly` ones (`import type`, `export type`) are erased, `dynamic` ones (`import()`) load only when their code runs. */
export interface SourceImport {
  spec: string;
  typeOnly: boolean;
  dynamic: boolean;
}

/**
 * The relative imports of a TypeScript text: imports and re-exports with `from`, side-effect
 * imports and dynamic imports. A statement is read up to its first `;`, so that a type
 * declaration before it is not taken for part of it. With verbatimModuleSyntax an
 * `import { type X }` stays in the JavaScript (as an empty import) and is not type-only.
 */
export function relativeImports(text: string): SourceImport[] {
  const found = [...text.matchAll(/(?:^|\n)\s*((?:import|export)\s[^'";]*?from\s*'([^']+)'|import\s*'([^']+)')|\bimport\(\s*'([^']+)'\s*\)/g)];
  return found
    .map((m) => ({ spec: (m[2] ?? m[3] ?? m[4])!, typeOnly: m[1] !== undefined && /^(?:import|export)\s+type\s/.test(m[1]), dynamic: m[4] !== undefined }))
    .filter((i) => i.spec.startsWith('.'));
}
