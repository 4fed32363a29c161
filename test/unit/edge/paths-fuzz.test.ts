/**
 * Paths from external clients, fuzzed over a real HTTP edge and a real admin API on
 * loopback: whatever the path, the answer is a coded 4xx (or the content itself), never a
 * 500 and never a file outside the store. Includes traversal attempts in every encoding,
 * also inside a directory content (only its own files and listings come back).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createAdminApi } from '../../../src/api/admin-api.js';
import { ApiTokens } from '../../../src/api/api-tokens.js';
import { createHttpEdge } from '../../../src/edge/http/http-edge.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { createLogger } from '../../../src/core/logger.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { EdgeAccessStore } from '../../../src/security/edge-access-store.js';
import { ingestDirectory } from '../../../src/ingest/ingest-directory.js';
import { storeSink } from '../../../src/ingest/sinks.js';
import { testKey } from '../../helpers/manifests.js';

function get(port: number, rawPath: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    // `path` is sent as is: no normalisation by the client.
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

function getBody(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.once('error', reject);
    req.end();
  });
}

const segment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%2E%2E', '..%2f', '..%5c', '%00', '%', '%E0%A4%A', 'etc', 'passwd', 'content', 'files', 'api', 'nodes', 'contents', 'security', 'node.key', '~', '//'),
  fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/),
);
const pathArb = fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`);

describe('path fuzzing over real HTTP servers', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-paths6-'));
  const store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
  const catalog = new Catalog(store);
  const log = createLogger({}, 'error');
  const tokens = new ApiTokens(dir);
  const token = tokens.create(['admin'], 'fuzz');
  const edge = createHttpEdge({ catalog, store, synced: () => true, access: EdgeAccessStore.forDataDir(store.index, dir), log });
  const api = createAdminApi({ info: () => ({}), catalog, root: undefined, authority: undefined, tokens, renewCertificate: async () => ({ nodeId: 'x', validTo: '' }), log });
  let edgePort = 0;
  let apiPort = 0;

  before(async () => {
    await new Promise<void>((r) => edge.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    edgePort = (edge.address() as AddressInfo).port;
    apiPort = (api.address() as AddressInfo).port;
  });
  after(() => {
    edge.closeAllConnections();
    api.closeAllConnections();
    edge.close();
    api.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the edge answers every path with 200 (the listing) or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(pathArb, async (p) => {
        const status = await get(edgePort, p);
        const normalised = new URL(`http://x${p}`).pathname;
        assert.ok(status === 200 ? normalised === '/' || normalised === '/content' : status >= 400 && status < 500, `${p} → ${status}`);
      }),
      { numRuns: 300 },
    );
  });

  it('the registry mirror answers every /v2 path with an OCI error body (or the base 200), never a 5xx', async () => {
    const v2 = fc.tuple(fc.constantFrom('/v2', '/v2/'), pathArb, fc.constantFrom('', '/manifests/latest', '/blobs/sha256:' + '0'.repeat(64), '/manifests/', '/blobs/x'), fc.constantFrom('', '?ns=docker.io', '?ns=%00', '?ns=a:b:c')).map(([a, b, c, q]) => `${a}${b}${c}${q}`);
    await fc.assert(
      fc.asyncProperty(v2, async (p) => {
        const status = await get(edgePort, p);
        const normalised = new URL(`http://x${p}`).pathname;
        // Dot segments may leave /v2 (`/v2/..` is the listing at `/`).
        assert.ok(status === 200 ? ['/v2/', '/v2', '/', '/content'].includes(normalised) : status >= 400 && status < 500, `${p} → ${status}`);
      }),
      { numRuns: 200 },
    );
  });

  it('a directory content answers every path inside it with one of its files, a listing, a redirect or a 4xx', async () => {
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'a.txt'), 'A');
    writeFileSync(path.join(tree, 'sub', 'b c.txt'), 'BC');
    symlinkSync('sub/b c.txt', path.join(tree, 'link'));
    const { manifest } = await ingestDirectory(tree, storeSink(store), { name: 'tree', criteria: 'true', origin: 'o'.repeat(64), key: testKey, hashThreads: 0 });
    catalog.addOwn(manifest);
    const inside = fc.array(fc.oneof(segment, fc.constantFrom('a.txt', 'sub', 'b%20c.txt', 'link', 'sub%2fb%20c.txt')), { maxLength: 4 }).map((parts) => `/files/tree/${parts.join('/')}`);
    await fc.assert(
      fc.asyncProperty(inside, fc.boolean(), async (p, trailing) => {
        const raw = trailing ? `${p}/` : p;
        const { status, body } = await getBody(edgePort, raw);
        const normalised = new URL(`http://x${raw}`).pathname;
        if (status === 200) {
          // Only the tree's own files or a listing: never anything of the store or the disk.
          assert.ok(['A', 'BC'].includes(body) || body.startsWith('{'), `${raw} → ${body.slice(0, 40)}`);
          if (!normalised.startsWith('/files/tree')) assert.ok(normalised === '/' || normalised === '/content' || normalised === '/files/tree', raw);
        } else assert.ok(status === 301 || (status >= 400 && status < 500), `${raw} → ${status}`);
      }),
      { numRuns: 300 },
    );
  });

  it('the API answers every path with a 4xx or 200, never a 5xx, with and without a token', async () => {
    await fc.assert(
      fc.asyncProperty(pathArb, fc.boolean(), async (p, withToken) => {
        const status = await get(apiPort, p, withToken ? { authorization: `Bearer ${token}` } : {});
        assert.ok(status < 500, `${p} → ${status}`);
        // Dot segments are resolved first: `/api/..` is `/`, not an API path.
        if (!withToken && new URL(`http://x${p}`).pathname.startsWith('/api/')) assert.equal(status, 401, p);
      }),
      { numRuns: 300 },
    );
  });
});
