import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatCriteria, matches, parseCriteria, type Criteria } from '../../../src/core/criteria.js';
import { CanopyError } from '../../../src/core/errors.js';

const eu = { region: 'eu', tier: 'edge' };
const us = { region: 'us', tier: 'hub', lab: '' };

describe('criteria', () => {
  it('evaluates the documented examples', () => {
    const c = parseCriteria('region=eu & (tier=edge | tier=hub) & !lab');
    assert.equal(matches(c, eu), true);
    assert.equal(matches(c, us), false);
    assert.equal(matches(parseCriteria('*'), {}), true);
    assert.equal(matches(parseCriteria('lab'), us), true);
    assert.equal(matches(parseCriteria('region!=eu'), us), true);
    assert.equal(matches(parseCriteria('node=abc'), eu, 'abc'), true);
    assert.equal(matches(parseCriteria('node=abc'), eu, 'abd'), false);
  });

  it('gives the position and what was expected', () => {
    const cases: [string, number, RegExp][] = [
      ['region=eu &', 11, /expected an attribute/],
      ['region=eu & (tier=edge', 22, /expected "\)"/],
      ['region=', 7, /expected a value/],
      ['region=eu tier=edge', 10, /expected "&", "\|" or the end/],
      ['region=eu ; x', 10, /unexpected character ";"/],
      ['', 0, /empty criteria/],
    ];
    for (const [src, pos, msg] of cases) {
      assert.throws(
        () => parseCriteria(src),
        (err: unknown) => err instanceof CanopyError && err.code === 'ERR_CRITERIA_SYNTAX' && err.details?.position === pos && msg.test(err.message),
        src,
      );
    }
  });

  const key = fc.constantFrom('region', 'tier', 'lab', 'gpu');
  const value = fc.constantFrom('eu', 'us', 'edge', 'hub', 'h100');
  const criteria: fc.Arbitrary<Criteria> = fc.letrec<{ c: Criteria }>((tie) => ({
    c: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant<Criteria>({ kind: 'all' }),
      key.map((k): Criteria => ({ kind: 'has', key: k })),
      fc.tuple(key, value).map(([k, v]): Criteria => ({ kind: 'eq', key: k, value: v })),
      tie('c').map((e): Criteria => ({ kind: 'not', expr: e })),
      fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((items): Criteria => ({ kind: 'and', items })),
      fc.array(tie('c'), { minLength: 2, maxLength: 3 }).map((items): Criteria => ({ kind: 'or', items })),
    ),
  })).c;
  const attrs = fc.dictionary(key, value);

  it('formats to text that parses back to the same meaning', () => {
    fc.assert(
      fc.property(criteria, attrs, (c, a) => {
        const text = formatCriteria(c);
        const back = parseCriteria(text);
        assert.equal(matches(back, a), matches(c, a), text);
        assert.equal(formatCriteria(back), formatCriteria(parseCriteria(formatCriteria(back))));
      }),
      { numRuns: 500 },
    );
  });

  it('fails only with ERR_CRITERIA_SYNTAX on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab=!&|()* \t.:-_x1'.split('')), maxLength: 40 }), (src) => {
        try {
          parseCriteria(src);
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_CRITERIA_SYNTAX', String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses pathological nesting and length without overflowing the stack', () => {
    assert.throws(() => parseCriteria(`${'('.repeat(1000)}a${')'.repeat(1000)}`), /nesting/);
    assert.throws(() => parseCriteria('!'.repeat(5000)), /longer than|nesting/);
  });
});
