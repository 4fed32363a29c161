/**
 * Paths from external clients, fuzzed over a real HTTP edge and a real admin API on
 * loopback: whatever the path, the answer is a coded 4xx (or the content itself), never a
 * 500 and never a file outside the store. Includes traversal attempts in every encoding.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
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
  const edge = createHttpEdge({ catalog, store, synced: () => true, log });
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
