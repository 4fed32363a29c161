import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { adminRoutes } from '../../../src/api/admin-api.js';
import { matchMembers, type CriteriaMember } from '../../../src/api/criteria-routes.js';
import { findRoute, matchPath, openApiDocument, type Route } from '../../../src/api/router.js';
import { createLogger } from '../../../src/core/logger.js';
import type { ApiTokens } from '../../../src/api/api-tokens.js';
import type { Catalog } from '../../../src/catalog/catalog.js';

const segment = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..');

describe('router', () => {
  it('matches parameters and decodes them, for any segment text', () => {
    fc.assert(
      fc.property(segment, segment, (a, b) => {
        const p = matchPath('/api/contents/:ref/:sub', `/api/contents/${encodeURIComponent(a)}/${encodeURIComponent(b)}`);
        assert.deepEqual(p, { ref: a, sub: b });
      }),
    );
    assert.equal(matchPath('/api/contents/:ref', '/api/contents'), undefined);
    assert.equal(matchPath('/api/contents/:ref', '/api/contents/a/b'), undefined);
    assert.deepEqual(matchPath('/assets/*', '/assets/x/y.js'), { '*': 'x/y.js' });
    assert.throws(() => matchPath('/a/:x', '/a/%E0%A4%A'), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_USAGE');
  });

  it('never throws anything but CanopyError on arbitrary paths', () => {
    const routes = adminRoutes({ info: () => ({}), catalog: {} as Catalog, root: undefined, authority: undefined, tokens: {} as ApiTokens, renewCertificate: async () => ({ nodeId: '', validTo: '' }), log: createLogger({}, 'error', () => undefined) });
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), fc.string({ maxLength: 40 }), (method, p) => {
        try {
          findRoute(routes, method, `/${p}`);
        } catch (err) {
          assert.ok(err instanceof CanopyError, String(err));
        }
      }),
    );
  });

  it('tells a wrong method from a missing route', () => {
    const routes: Route[] = [{ method: 'GET', path: '/x/:id', summary: 's', handler: () => 1 }];
    assert.ok(findRoute(routes, 'GET', '/x/1'));
    assert.ok(findRoute(routes, 'HEAD', '/x/1'), 'HEAD is served by GET routes');
    assert.equal(findRoute(routes, 'GET', '/y'), undefined);
    assert.throws(() => findRoute(routes, 'POST', '/x/1'), /not allowed/);
  });

  it('describes every listed route in OpenAPI, with path parameters', () => {
    const routes = adminRoutes({ info: () => ({}), catalog: {} as Catalog, root: undefined, authority: undefined, tokens: {} as ApiTokens, renewCertificate: async () => ({ nodeId: '', validTo: '' }), log: createLogger({}, 'error', () => undefined) });
    const doc = openApiDocument(routes, { title: 't', version: '1' }) as { openapi: string; paths: Record<string, Record<string, { parameters: { name: string }[] }>> };
    assert.equal(doc.openapi, '3.1.0');
    for (const r of routes.filter((x) => !x.hidden)) {
      const p = r.path.replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.paths[p], `missing ${p}`);
    }
    assert.deepEqual(doc.paths['/api/contents/{ref}/status']!.get!.parameters.map((x) => x.name), ['ref']);
    // A parameter with a schema of its own is described with it: a block hash is 64 lowercase hex digits.
    const blockParam = (doc.paths['/api/blocks/{hash}']!.get!.parameters as unknown as { name: string; schema: { pattern?: string } }[])[0]!;
    assert.deepEqual([blockParam.name, blockParam.schema.pattern], ['hash', '^[0-9a-f]{64}$']);
    assert.ok(doc.paths['/metrics'] && doc.paths['/healthz'] && doc.paths['/openapi.json']);
  });
});

describe('criteria match', () => {
  it('counts the members a criteria selects, with the canonical form', () => {
    const members: CriteriaMember[] = [
      { nodeId: 'a', name: 'eu-edge', attrs: { region: 'eu', tier: 'edge' } },
      { nodeId: 'b', name: 'us-edge', attrs: { region: 'us', tier: 'edge' } },
      { nodeId: 'c', name: 'eu-lab', attrs: { region: 'eu', lab: '' } },
    ];
    const m = matchMembers('region=eu&!lab', members);
    assert.equal(m.matched, 1);
    assert.equal(m.total, 3);
    assert.deepEqual(m.nodes.filter((n) => n.match).map((n) => n.name), ['eu-edge']);
    assert.equal(matchMembers('*', members).matched, 3);
    assert.equal(matchMembers('node=b', members).matched, 1);
    assert.throws(() => matchMembers('region=', members), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_CRITERIA_SYNTAX');
  });
});
