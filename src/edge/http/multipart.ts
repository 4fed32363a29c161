/**
 * `multipart/byteranges` framing (RFC 9110 §14.6): each part is a small header, then the
 * bytes of one range. The length of the whole body is known before any byte is read, so
 * the response carries Content-Length and clients can show progress.
 */
import { randomBytes } from 'node:crypto';
import type { ByteRange } from './range.js';

export interface MultipartPlan {
  boundary: string;
  contentType: string;
  parts: { range: ByteRange; head: Buffer }[];
  tail: Buffer;
  length: number;
}

export function planMultipart(ranges: readonly ByteRange[], size: number, mediaType: string): MultipartPlan {
  const boundary = `canopy-${randomBytes(12).toString('hex')}`;
  const parts = ranges.map((range, i) => ({
    range,
    head: Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${mediaType}\r\ncontent-range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`, 'latin1'),
  }));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length = parts.reduce((n, p) => n + p.head.length + p.range.end - p.range.start + 1, tail.length);
  return { boundary, contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length };
}
