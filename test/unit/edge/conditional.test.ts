import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluateConditions } from '../../../src/edge/http/conditional.js';
import { planMultipart } from '../../../src/edge/http/multipart.js';
import { coalesce } from '../../../src/edge/http/range.js';

const v = { etag: '"abc"', lastModified: Date.parse('2026-03-01T12:00:00Z') };
const date = new Date(v.lastModified).toUTCString();

describe('conditional requests', () => {
  it('follows RFC 9110 precedence', () => {
    assert.deepEqual(evaluateConditions({}, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifNoneMatch: 'W/"abc"' }, v), { kind: 'not-modified' });
    assert.deepEqual(evaluateConditions({ ifNoneMatch: '"x", "abc"' }, v), { kind: 'not-modified' });
    assert.deepEqual(evaluateConditions({ ifNoneMatch: '"x"', ifModifiedSince: date }, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifModifiedSince: date }, v), { kind: 'not-modified' });
    assert.deepEqual(evaluateConditions({ ifModifiedSince: 'Sat, 01 Jan 2000 00:00:00 GMT' }, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifModifiedSince: 'garbage' }, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifMatch: '"x"' }, v), { kind: 'precondition-failed' });
    assert.deepEqual(evaluateConditions({ ifMatch: '*' }, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifMatch: 'W/"abc"' }, v), { kind: 'precondition-failed' });
    assert.deepEqual(evaluateConditions({ ifUnmodifiedSince: 'Sat, 01 Jan 2000 00:00:00 GMT' }, v), { kind: 'precondition-failed' });
    assert.deepEqual(evaluateConditions({ ifRange: '"abc"' }, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifRange: 'W/"abc"' }, v), { kind: 'serve', useRange: false });
    assert.deepEqual(evaluateConditions({ ifRange: date }, v), { kind: 'serve', useRange: true });
    assert.deepEqual(evaluateConditions({ ifRange: 'Sat, 01 Jan 2000 00:00:00 GMT' }, v), { kind: 'serve', useRange: false });
  });

  it('never throws on arbitrary header values', () => {
    fc.assert(
      fc.property(fc.record({ ifMatch: fc.option(fc.string(), { nil: undefined }), ifNoneMatch: fc.option(fc.string(), { nil: undefined }), ifModifiedSince: fc.option(fc.string(), { nil: undefined }), ifUnmodifiedSince: fc.option(fc.string(), { nil: undefined }), ifRange: fc.option(fc.string(), { nil: undefined }) }), (h) => {
        evaluateConditions(h, v);
      }),
    );
  });
});

describe('multipart/byteranges', () => {
  it('coalesces overlapping and adjacent ranges into sorted disjoint ones covering the same bytes', () => {
    const range = fc.tuple(fc.nat({ max: 200 }), fc.nat({ max: 50 })).map(([s, l]) => ({ start: s, end: s + l }));
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 10 }), (ranges) => {
        const out = coalesce(ranges);
        const covered = (rs: { start: number; end: number }[]) => new Set(rs.flatMap((r) => Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i)));
        assert.deepEqual([...covered(out)].sort((a, b) => a - b), [...covered(ranges)].sort((a, b) => a - b));
        for (let i = 1; i < out.length; i++) assert.ok(out[i]!.start > out[i - 1]!.end + 1);
      }),
    );
  });

  it('announces exactly the length of the body it frames', () => {
    const plan = planMultipart([{ start: 0, end: 9 }, { start: 100, end: 104 }], 1000, 'video/mp4');
    const body = Buffer.concat([plan.parts[0]!.head, Buffer.alloc(10), plan.parts[1]!.head, Buffer.alloc(5), plan.tail]);
    assert.equal(plan.length, body.length);
    assert.match(plan.contentType, /^multipart\/byteranges; boundary=canopy-[0-9a-f]{24}$/);
  });
});
