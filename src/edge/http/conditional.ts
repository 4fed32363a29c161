/**
 * Conditional requests (RFC 9110 §13) for immutable contents, where the ETag is the content
 * id and Last-Modified the publication time. Pure: headers in, decision out.
 */
export interface Validators {
  etag: string;
  /** Publication time in epoch milliseconds. */
  lastModified: number;
}

export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
  ifRange?: string;
}

/** `precondition-failed` = 412, `not-modified` = 304, otherwise serve (honouring Range only if `useRange`). */
export type Decision = { kind: 'precondition-failed' } | { kind: 'not-modified' } | { kind: 'serve'; useRange: boolean };

export function evaluateConditions(h: ConditionalHeaders, v: Validators): Decision {
  if (h.ifMatch !== undefined && !listMatches(h.ifMatch, v.etag, false)) return { kind: 'precondition-failed' };
  if (h.ifMatch === undefined && h.ifUnmodifiedSince !== undefined) {
    const t = httpDate(h.ifUnmodifiedSince);
    if (t !== undefined && seconds(v.lastModified) > t) return { kind: 'precondition-failed' };
  }
  if (h.ifNoneMatch !== undefined) {
    if (listMatches(h.ifNoneMatch, v.etag, true)) return { kind: 'not-modified' };
  } else if (h.ifModifiedSince !== undefined) {
    const t = httpDate(h.ifModifiedSince);
    if (t !== undefined && seconds(v.lastModified) <= t) return { kind: 'not-modified' };
  }
  return { kind: 'serve', useRange: h.ifRange === undefined || ifRangeHolds(h.ifRange, v) };
}

/** If-Range carries one strong ETag or one HTTP date; a weak tag never matches (§13.1.5). */
function ifRangeHolds(value: string, v: Validators): boolean {
  const s = value.trim();
  if (s.startsWith('"') || s.startsWith('W/')) return s === v.etag;
  const t = httpDate(s);
  return t !== undefined && t === seconds(v.lastModified);
}

function listMatches(header: string, etag: string, weak: boolean): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === etag || (weak && tag.replace(/^W\//, '') === etag);
  });
}

function httpDate(text: string): number | undefined {
  if (text.length > 64) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

const seconds = (ms: number) => Math.floor(ms / 1000);
