/**
 * HTTP Range parsing (RFC 9110 §14): `bytes=a-b`, `bytes=a-`, `bytes=-n`, comma lists.
 * Returns satisfiable ranges clipped to the content, `unsatisfiable` when none is, or
 * `ignore` when the header is not a byte range we understand (the server then sends the
 * whole content, as the RFC allows). Strict about syntax, bounded in count: overlapping and
 * adjacent ranges are merged first, and more than MAX_RANGES left after merging is ignored.
 * A suffix range on an empty content is ignored too (200 with the empty body, as nginx does):
 * there is no last byte to name, and 416 would tell the client the content is not there.
 */
export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export type RangeResult = { kind: 'ranges'; ranges: ByteRange[] } | { kind: 'unsatisfiable' } | { kind: 'ignore' };

export const MAX_RANGES = 64;
const SPEC = /^(\d*)-(\d*)$/;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'ignore' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m || header.length > 4096) return { kind: 'ignore' };
  const specs = m[1]!.split(',').map((s) => s.trim());
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const parts = SPEC.exec(spec);
    if (!parts || (parts[1] === '' && parts[2] === '')) return { kind: 'ignore' };
    const [, a, b] = parts;
    if (a === '') {
      const suffix = Number(b);
      if (!Number.isSafeInteger(suffix) || size === 0) return { kind: 'ignore' };
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(a);
    const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (b !== '' && Number(b) < start)) return { kind: 'ignore' };
    if (start < size) ranges.push({ start, end });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  const merged = coalesce(ranges);
  return merged.length > MAX_RANGES ? { kind: 'ignore' } : { kind: 'ranges', ranges: merged };
}

/** Coalesces overlapping or adjacent ranges, as the RFC recommends, so a client cannot make us send the same bytes many times. */
export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}
