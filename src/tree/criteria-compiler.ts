/**
 * Criteria compiled to tests on a subtree's rollup. A test answers in three values: every
 * node of the subtree matches, none does, or some may. A subtree is entered unless the
 * answer is "none"; a count can stop descending where the answer is "all". Negation swaps
 * "all" and "none", which is why rollups keep the AND as well as the OR.
 */
import type { Criteria } from '../core/criteria.js';
import { hasBit } from './bitmap.js';
import { UNKNOWN_BIT, type AttributeDictionary } from './attribute-dictionary.js';
import { idBit, type Rollup } from './rollup.js';

export const NONE = 0;
export const ALL = 1;
export const SOME = 2;
export type Tri = typeof NONE | typeof ALL | typeof SOME;

export type RollupTest = (r: Rollup) => Tri;

/**
 * `authoritative` is true at the root, whose dictionary has every attribute any node has:
 * there, an attribute missing from the dictionary is held by nobody. Elsewhere the local
 * copy may lag, so an unknown attribute may match.
 */
export function compileCriteria(criteria: Criteria, dict: AttributeDictionary, authoritative: boolean): RollupTest {
  switch (criteria.kind) {
    case 'all':
      return () => ALL;
    case 'has':
      return criteria.key === 'node' ? () => ALL : bitTest(dict.bitOf(criteria.key), authoritative);
    case 'eq':
      return criteria.key === 'node' ? idTest(idBit(criteria.value)) : bitTest(dict.bitOf(`${criteria.key}=${criteria.value}`), authoritative);
    case 'not': {
      const inner = compileCriteria(criteria.expr, dict, authoritative);
      return (r) => {
        const v = inner(r);
        return v === SOME ? SOME : v === ALL ? NONE : ALL;
      };
    }
    case 'and': {
      const items = criteria.items.map((c) => compileCriteria(c, dict, authoritative));
      return (r) => {
        let out: Tri = ALL;
        for (const t of items) {
          const v = t(r);
          if (v === NONE) return NONE;
          if (v === SOME) out = SOME;
        }
        return out;
      };
    }
    case 'or': {
      const items = criteria.items.map((c) => compileCriteria(c, dict, authoritative));
      return (r) => {
        let out: Tri = NONE;
        for (const t of items) {
          const v = t(r);
          if (v === ALL) return ALL;
          if (v === SOME) out = SOME;
        }
        return out;
      };
    }
  }
}

function bitTest(bit: number | undefined, authoritative: boolean): RollupTest {
  if (bit === undefined) return (r) => (authoritative && !hasBit(r.or, UNKNOWN_BIT) ? NONE : SOME);
  return (r) => {
    if (hasBit(r.and, bit)) return ALL;
    if (!hasBit(r.or, bit) && !hasBit(r.or, UNKNOWN_BIT)) return NONE;
    return SOME;
  };
}

function idTest(bit: number): RollupTest {
  return (r) => (hasBit(r.ids, bit) ? SOME : NONE);
}
