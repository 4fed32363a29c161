/**
 * The root's authorised publisher keys (admin scope, root only; see ./api-guard.ts):
 *   GET  /api/publishers               → {serial, publishers: [{key, name, addedAt}]}
 *   POST /api/publishers  {key, name}  → {key, name, serial}   authorise (or rename) a key
 *   POST /api/publishers/:key/remove   → {key, removed, serial} new publishes with it are refused
 * Every change is re-signed by the cluster CA and sent to every node (docs/SECURITY.md).
 */
import { CanopyError } from '../core/errors.js';
import { requireRoot } from './content-routes.js';
import { readJsonBody } from '../http/http-util.js';
import type { Route } from './router.js';
import * as S from './schemas.js';

export interface PublishersApi {
  list(): unknown;
  add(key: string, name: string): unknown;
  remove(key: string): unknown;
}

export function publisherRoutes(api: PublishersApi | undefined): Route[] {
  const tag = 'security';
  return [
    { method: 'GET', path: '/api/publishers', tag, summary: 'Publisher keys the root has authorised: manifests signed by any other key are refused (root, admin)', response: S.PublisherList, handler: () => requireRoot(api).list() },
    {
      method: 'POST',
      path: '/api/publishers',
      tag,
      status: 201,
      summary: 'Authorise a publisher key (Ed25519, base64url, as canopy keys show prints it); every node learns it (root, admin)',
      body: '{"key": "<43 characters of base64url>", "name": "ci"}',
      bodySchema: S.PublisherRequest,
      response: S.PublisherAdded,
      handler: async ({ req, res }) => {
        const body = await readJsonBody(req);
        if (typeof body.key !== 'string') throw new CanopyError('ERR_USAGE', 'key: expected the publisher public key (43 characters of base64url)');
        if (body.name !== undefined && typeof body.name !== 'string') throw new CanopyError('ERR_USAGE', 'name: expected a string');
        const result = requireRoot(api).add(body.key, (body.name as string | undefined) ?? '');
        res.statusCode = 201;
        return result;
      },
    },
    {
      method: 'POST',
      path: '/api/publishers/:key/remove',
      tag,
      summary: "Withdraw a publisher key's authorisation: new publishes and announcements signed with it are refused; published contents stay (root, admin)",
      response: S.PublisherRemoved,
      handler: ({ params }) => requireRoot(api).remove(params.key!),
    },
  ];
}
