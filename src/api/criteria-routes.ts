/**
 * Lets a publisher see, while typing, which members a criteria expression selects: the
 * root evaluates it against its member list with the same code that enforces it.
 */
import type { Attributes } from '../core/attributes.js';
import { formatCriteria, matches, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import { requireRoot } from './content-routes.js';
import type { Route } from './router.js';
import { CriteriaMatch as CriteriaMatchSchema } from './schemas.js';

export interface CriteriaMember {
  nodeId: string;
  name: string;
  attrs: Attributes;
}

export interface CriteriaMatch {
  criteria: string;
  total: number;
  matched: number;
  nodes: (CriteriaMember & { match: boolean })[];
}

export function matchMembers(expression: string, members: readonly CriteriaMember[]): CriteriaMatch {
  const criteria = parseCriteria(expression);
  const nodes = members.map((m) => ({ ...m, match: matches(criteria, m.attrs, m.nodeId) }));
  return { criteria: formatCriteria(criteria), total: nodes.length, matched: nodes.filter((n) => n.match).length, nodes };
}

export function criteriaRoutes(members: (() => CriteriaMember[]) | undefined): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/criteria/match',
      tag: 'publish',
      summary: 'Which members a criteria expression selects (root); syntax errors answer 400 with the position',
      query: { criteria: 'criteria expression, e.g. region=eu & tier=edge' },
      response: CriteriaMatchSchema,
      handler: ({ url }) => {
        const expression = url.searchParams.get('criteria');
        if (expression === null) throw new CanopyError('ERR_USAGE', 'criteria: the ?criteria= parameter is required');
        return matchMembers(expression, requireRoot(members)());
      },
    },
  ];
}
