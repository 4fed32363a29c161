/**
 * Control-tree routes of the admin API:
 *   GET /api/tree                         this node's place in the tree (parent, children, depth, path)
 *   GET /api/criteria/count?criteria=EXPR (root) how many nodes meet a criteria now, counted down
 *                                         the tree through the rollups, with the canonical form of EXPR
 */
import { formatCriteria, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import type { Route } from './router.js';
import type { JsonSchema } from './schemas.js';

const ref = { type: 'object', required: ['id', 'addr'], properties: { id: { type: 'string' }, addr: { type: 'string' } } } as const;
const TreeView: JsonSchema = {
  type: 'object',
  required: ['attached'],
  properties: {
    attached: { type: 'boolean' },
    depth: { type: 'integer', minimum: 0 },
    parent: { oneOf: [ref, { type: 'null' }] },
    path: { type: 'array', items: ref },
    children: { type: 'array', items: ref },
    subtreeNodes: { type: 'integer', minimum: 1 },
    dictionaryVersion: { type: 'integer', minimum: 0 },
    fanout: { type: 'integer', minimum: 1 },
  },
};
const CriteriaCount: JsonSchema = {
  type: 'object',
  required: ['criteria', 'matching', 'partial', 'nodes'],
  properties: { criteria: { type: 'string' }, matching: { type: 'integer', minimum: 0 }, partial: { type: 'boolean' }, nodes: { type: 'integer', minimum: 0 } },
};

export interface TreeApi {
  view(): Record<string, unknown>;
  /** Null on nodes that are not the root. */
  count: ((criteria: string) => Promise<{ matching: number; partial: boolean; nodes: number }>) | null;
}

export function treeRoutes(api: TreeApi): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/tree',
      tag: 'tree',
      summary: "This node's place in the control tree: parent, children, depth, path to the root, nodes in its subtree",
      response: TreeView,
      handler: () => api.view(),
    },
    {
      method: 'GET',
      path: '/api/criteria/count',
      tag: 'tree',
      summary: 'How many nodes meet a criteria now, counted through the control tree rollups (root)',
      query: { criteria: 'criteria expression, e.g. region=eu & !lab' },
      response: CriteriaCount,
      handler: async ({ url }) => {
        if (!api.count) throw new CanopyError('ERR_USAGE', 'this node is not the root: send this request to the root node');
        const expression = url.searchParams.get('criteria');
        if (expression === null) throw new CanopyError('ERR_USAGE', 'criteria: the ?criteria= parameter is required');
        const criteria = formatCriteria(parseCriteria(expression));
        return { criteria, ...(await api.count(criteria)) };
      },
    },
  ];
}
