/**
 * node:http's functions and classes, loaded with `require`. On Node 24 an ESM import of
 * node:http (default or named, even `import {} from 'node:http'`) builds the module's
 * namespace by reading every export, and three of them (`WebSocket`, `CloseEvent`,
 * `MessageEvent`) are getters that load Node's bundled undici: its source and code stay in
 * the heap of every process that imports node:http, for nothing Canopy uses. Measured on
 * Node 24.22 (notes/issue-15.md, Session 18): a bare process importing node:http as ESM is at
 * 58.6 MiB RSS, requiring it 45.3; an idle Canopy node 82.9-84.3 MiB before, 80.5-80.9 after,
 * and 0.05 CPU s less to start (the rest of the bare figure is compiler pages a node touches
 * anyway). Node 20 has no such getters.
 *
 * So every value of node:http in src comes from here; types stay `import type` (erased).
 * test/unit/architecture/imports.test.ts fails on any other import of node:http in src.
 */
import { createRequire } from 'node:module';
import type * as Http from 'node:http';

export const nodeHttp = createRequire(import.meta.url)('node:http') as typeof Http;
