/**
 * Which bytes a GetObject/HeadObject answers with, from its `Range` header: the status, the
 * Content-Length and Content-Range, and where those bytes lie in the content's virtual file
 * (an object of a directory content starts at its file's offset). Plain numbers throughout:
 * offsets and sizes past 4 GiB (2^32) are exact up to 2^53 (test/unit/edge/s3/object-span.test.ts).
 */
import { parseRange } from '../http/range.js';
import { S3Error } from './s3-error.js';

export interface ObjectSpan {
  status: 200 | 206;
  contentLength: number;
  contentRange?: string;
  /** First and last byte in the content's virtual file (last < first for an empty object). */
  from: number;
  to: number;
}

/** S3 serves one range per request; a list of ranges, or a header it ignores, gets the whole object. */
export function objectSpan(rangeHeader: string | undefined, object: { size: number; offset: number }): ObjectSpan {
  const range = parseRange(rangeHeader, object.size);
  if (range.kind === 'unsatisfiable') throw new S3Error('InvalidRange', `the range ${rangeHeader} is outside the object (${object.size} bytes)`);
  const one = range.kind === 'ranges' && range.ranges.length === 1 ? range.ranges[0]! : undefined;
  const start = one?.start ?? 0;
  const end = one?.end ?? object.size - 1;
  return {
    status: one ? 206 : 200,
    contentLength: object.size === 0 ? 0 : end - start + 1,
    ...(one ? { contentRange: `bytes ${start}-${end}/${object.size}` } : {}),
    from: object.offset + start,
    to: object.offset + end,
  };
}
