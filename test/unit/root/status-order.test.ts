/**
 * The order of a content status's rows (src/root/content-status.ts): qualified nodes first,
 * then by name, then by id; a total order by plain comparison (not `localeCompare`, whose
 * cost at 10,000 members held the root's event loop for a second, issue 18).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { byQualifiedThenName } from '../../../src/root/content-status.js';

const row = fc.record({ qualified: fc.boolean(), name: fc.string({ maxLength: 4 }), nodeId: fc.string({ maxLength: 4 }) }, { noNullPrototype: true });

describe('status row order', () => {
  it('is a total order: qualified first, then name, then id, the same whatever the input order', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), (rows) => {
        const sorted = [...rows].sort(byQualifiedThenName);
        for (let i = 1; i < sorted.length; i++) {
          const [a, b] = [sorted[i - 1]!, sorted[i]!];
          assert.ok(byQualifiedThenName(a, b) <= 0);
          assert.ok(a.qualified >= b.qualified);
          if (a.qualified === b.qualified) assert.ok(a.name < b.name || (a.name === b.name && a.nodeId <= b.nodeId));
        }
        assert.deepEqual([...rows].reverse().sort(byQualifiedThenName), sorted);
      }),
    );
  });
});
