/**
 * The layer rule, checked on every import under src/ (type-only imports included: a type is
 * a dependency too). Folders are layers, listed bottom first; a file may import its own
 * folder and any folder listed BEFORE its own, never one after it. Cycles between files are
 * refused everywhere, inside a folder too. There is no exceptions list.
 *
 *   core      pure values and rules (manifest, criteria, errors, Logger interface); no I/O
 *   store     blocks on disks, the SQLite index
 *   wire      frames, peer connections, the Transport interface (TCP)
 *   security  identities, certificates, signed records, the mutual-TLS transport
 *   ops       metrics
 *   gossip    flooding over tree edges (its message types too)
 *   tree      the control tree core (pure) and its codec
 *   sim       the tree simulator
 *   swarm     block downloads from many holders
 *   vfile     byte ranges of a content over local and fetched blocks
 *   ingest    analyse, cut, hash, sign
 *   registry  OCI image references, the registry client, image spool and index
 *   catalog   the manifests a node knows and what it holds of each
 *   http      HTTP plumbing shared by the admin API and the edge
 *   edge      HTTP and FTP servers for clients
 *   api       the admin API's route table
 *   root      what only the root does (publish acceptance, membership, registry, status)
 *   node      a member's behaviours and the composition root (node.ts)
 *   client    the client library (ApiClient, publishFile, progress) for cli and demo
 *   demo      the local network of processes
 *   cli       the `canopy` command
 *
 * Written also in docs/ARCHITECTURE.md ("Layers").
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { relativeImports, sourceFiles as sources } from '../../helpers/src-files.js';

export const LAYERS = ['core', 'store', 'wire', 'security', 'ops', 'gossip', 'tree', 'swarm', 'sim', 'vfile', 'ingest', 'registry', 'catalog', 'http', 'edge', 'api', 'root', 'node', 'client', 'demo', 'cli'];

const SRC = path.resolve('src');


/** Relative imports of a file (static, `export … from`, side-effect and dynamic, type-only ones too), as absolute .ts paths. */
function importsOf(file: string): string[] {
  return relativeImports(readFileSync(file, 'utf8')).map((i) => path.resolve(path.dirname(file), i.spec).replace(/\.js$/, '.ts'));
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Strongly connected components of more than one file (or a file importing itself), by Tarjan's algorithm. */
function cycles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)!.includes(v)) found.push(scc.map((f) => path.relative(SRC, f)).sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('layers', () => {
  it('every folder under src/ is a known layer', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => !LAYERS.includes(l));
    assert.deepEqual(unknown, [], `add these folders to LAYERS (here and in docs/ARCHITECTURE.md): ${unknown.join(', ')}`);
  });

  it('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([f, imps]) => imps.filter((i) => !graph.has(i)).map((i) => `${path.relative(SRC, f)} -> ${path.relative(SRC, i)}`));
    assert.deepEqual(missing, []);
  });

  it('no import runs up the layers', () => {
    const upward = [...graph].flatMap(([f, imps]) =>
      imps.filter((i) => LAYERS.indexOf(layerOf(i)) > LAYERS.indexOf(layerOf(f))).map((i) => `${path.relative(SRC, f)} -> ${path.relative(SRC, i)}`),
    );
    assert.deepEqual(upward, []);
  });

  it('no import cycle', () => {
    assert.deepEqual(cycles(), []);
  });
});
