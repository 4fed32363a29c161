/**
 * Control-tree routes of the admin API:
 *   GET /api/tree                 this node's place in the tree (parent, children, depth, path)
 *   GET /api/criteria?expr=EXPR   (root) how many nodes meet a criteria now, counted down the
 *                                 tree through the rollups, with the canonical form of EXPR
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatCriteria, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import { sendJson } from './http-util.js';

export interface TreeApi {
  view(): Record<string, unknown>;
  /** Null on nodes that are not the root. */
  count: ((criteria: string) => Promise<{ matching: number; partial: boolean; nodes: number }>) | null;
}

export type ExtraRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export function treeRoutes(api: TreeApi): ExtraRoute {
  return async (req, res, url) => {
    if (req.method !== 'GET') return false;
    if (url.pathname === '/api/tree') {
      sendJson(res, 200, api.view());
      return true;
    }
    if (url.pathname === '/api/criteria') {
      if (!api.count) throw new CanopyError('ERR_USAGE', 'this node is not the root: send this request to the root node');
      const criteria = formatCriteria(parseCriteria(url.searchParams.get('expr') ?? ''));
      sendJson(res, 200, { criteria, ...(await api.count(criteria)) });
      return true;
    }
    return false;
  };
}
