import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatCriteria, matches, parseCriteria, type Criteria } from '../../../src/core/criteria.js';
import { AttributeDictionary } from '../../../src/tree/attribute-dictionary.js';
import { ALL, compileCriteria, NONE } from '../../../src/tree/criteria-compiler.js';
import { combine, ownRollup } from '../../../src/tree/rollup.js';

const keys = ['region', 'tier', 'lab', 'gpu'];
const values = ['eu', 'us', 'edge', 'hub'];
const attrsArb = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom('', ...values), { maxKeys: 4 });
const criteriaArb: fc.Arbitrary<Criteria> = fc.letrec<{ c: Criteria }>((tie) => ({
  c: fc.oneof(
    { maxDepth: 4, depthSize: 'small', withCrossShrink: true },
    fc.constant<Criteria>({ kind: 'all' }),
    fc.constantFrom(...keys, 'extra').map((key): Criteria => ({ kind: 'has', key })),
    fc.tuple(fc.constantFrom(...keys, 'extra'), fc.constantFrom(...values, 'other')).map(([key, value]): Criteria => ({ kind: 'eq', key, value })),
    fc.constantFrom('n0', 'n1', 'n7').map((value): Criteria => ({ kind: 'eq', key: 'node', value })),
    tie('c').map((expr): Criteria => ({ kind: 'not', expr })),
    fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((items): Criteria => ({ kind: 'and', items })),
    fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((items): Criteria => ({ kind: 'or', items })),
  ),
})).c;

describe('criteria compiled to rollup tests', () => {
  it('never prunes a subtree that holds a match, and "all" means all (root and stale dictionaries)', () => {
    fc.assert(
      fc.property(fc.array(attrsArb, { minLength: 1, maxLength: 8 }), criteriaArb, fc.nat(), (nodes, criteria, cut) => {
        const root = new AttributeDictionary();
        nodes.forEach((a) => root.register(a));
        const rollups = nodes.map((a, i) => ownRollup(root.bitmapOf(a), `n${i}`));
        const subtree = combine(rollups[0]!, rollups.slice(1));
        const matching = nodes.filter((a, i) => matches(criteria, a, `n${i}`)).length;
        // A node far down the tree may hold only a prefix of the root's dictionary.
        const stale = new AttributeDictionary();
        stale.extend(0, root.since(0).slice(0, cut % (root.version + 1)));
        for (const [dict, authoritative] of [[root, true], [stale, false]] as const) {
          const v = compileCriteria(criteria, dict, authoritative)(subtree);
          if (v === NONE) assert.equal(matching, 0, `pruned a match: ${formatCriteria(criteria)}`);
          if (v === ALL) assert.equal(matching, nodes.length, `claimed all: ${formatCriteria(criteria)}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('prunes negations with the AND rollup', () => {
    const dict = new AttributeDictionary();
    const a = { region: 'eu', tier: 'edge' };
    const b = { region: 'eu', tier: 'hub' };
    dict.register(a);
    dict.register(b);
    const subtree = combine(ownRollup(dict.bitmapOf(a), 'x'), [ownRollup(dict.bitmapOf(b), 'y')]);
    assert.equal(compileCriteria(parseCriteria('!region=eu'), dict, true)(subtree), NONE);
    assert.equal(compileCriteria(parseCriteria('region=eu'), dict, true)(subtree), ALL);
    assert.equal(compileCriteria(parseCriteria('region=us'), dict, true)(subtree), NONE);
    assert.equal(compileCriteria(parseCriteria('lab'), dict, true)(subtree), NONE);
  });
});
