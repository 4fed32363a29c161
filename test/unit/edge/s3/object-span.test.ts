/**
 * The offset arithmetic of GetObject/HeadObject past 4 GiB: any object size and place in the
 * content up to 2^46 bytes, any single range (closed, open-ended, suffix) with its numbers past
 * 2^32, gives the Content-Length, Content-Range and content bytes S3 clients expect. The end to
 * end run with a real 5 GiB object and the AWS CLI is `npm run bench -- s3 --size 5GiB --sparse`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { objectSpan } from '../../../../src/edge/s3/object-span.js';
import { S3Error } from '../../../../src/edge/s3/s3-error.js';

const G4 = 2 ** 32;
const big = fc.oneof(fc.integer({ min: 1, max: 2 ** 46 }), fc.integer({ min: G4 - 2, max: G4 + 2 }), fc.integer({ min: G4 + 1, max: 6 * 2 ** 30 }));

describe('S3 object spans (sizes and ranges past 4 GiB)', () => {
  it('answers ranges of a 5 GiB object at and past 4 GiB exactly', () => {
    const object = { size: 5 * 2 ** 30, offset: 0 };
    assert.deepEqual(objectSpan('bytes=4294967295-4294967296', object), { status: 206, contentLength: 2, contentRange: 'bytes 4294967295-4294967296/5368709120', from: G4 - 1, to: G4 });
    assert.deepEqual(objectSpan('bytes=-16', object), { status: 206, contentLength: 16, contentRange: 'bytes 5368709104-5368709119/5368709120', from: 5368709104, to: 5368709119 });
    assert.deepEqual(objectSpan(undefined, object), { status: 200, contentLength: 5368709120, from: 0, to: 5368709119 });
    // A file of a directory content laid out past 4 GiB: its byte 0 is the content's byte `offset`.
    assert.deepEqual(objectSpan('bytes=0-9', { size: 10, offset: 4 * G4 }), { status: 206, contentLength: 10, contentRange: 'bytes 0-9/10', from: 4 * G4, to: 4 * G4 + 9 });
    assert.throws(() => objectSpan('bytes=5368709120-', object), (e: unknown) => e instanceof S3Error && e.s3Code === 'InvalidRange');
  });

  it('any single range of any object: length, Content-Range and content bytes agree', () => {
    fc.assert(
      fc.property(big, fc.integer({ min: 0, max: 2 ** 46 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('closed', 'open', 'suffix'), (size, offset, a, b, form) => {
        const start = Math.min(size - 1, Math.floor(Math.min(a, b) * size));
        const end = form === 'closed' ? Math.min(size - 1, Math.max(start, Math.floor(Math.max(a, b) * size))) : size - 1;
        const header = form === 'closed' ? `bytes=${start}-${end}` : form === 'open' ? `bytes=${start}-` : `bytes=-${size - start}`;
        const span = objectSpan(header, { size, offset });
        assert.equal(span.status, 206);
        assert.equal(span.contentLength, end - start + 1, header);
        assert.equal(span.contentRange, `bytes ${start}-${end}/${size}`);
        const [s, e, total] = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(span.contentRange!)!.slice(1).map(Number);
        assert.deepEqual([s, e, total], [start, end, size]);
        assert.deepEqual([span.from, span.to], [offset + start, offset + end]);
        assert.equal(span.to - span.from + 1, span.contentLength);
      }),
      { numRuns: 500 },
    );
  });

  it('a range starting at or past the end of any object is InvalidRange; no header is the whole object', () => {
    fc.assert(
      fc.property(big, fc.nat({ max: 2 ** 40 }), (size, past) => {
        assert.throws(() => objectSpan(`bytes=${size + past}-`, { size, offset: 0 }), (e: unknown) => e instanceof S3Error && e.s3Code === 'InvalidRange');
        assert.deepEqual(objectSpan(undefined, { size, offset: 7 }), { status: 200, contentLength: size, from: 7, to: 7 + size - 1 });
      }),
    );
  });
});
