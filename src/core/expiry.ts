/**
 * Parsing a publisher's `--expires`: an absolute ISO 8601 time, or a duration from now
 * (`90s`, `30m`, `12h`, `7d`). Pure: the caller passes the clock.
 */
import { CanopyError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseExpires(text: string, now: number): string {
  const rel = /^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$/.exec(text);
  const at = rel ? now + Number(rel[1]) * UNIT_MS[rel[2]!]! : /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (!Number.isFinite(at) || Math.abs(at) > 8.64e15) {
    throw new CanopyError('ERR_USAGE', `expires: "${text}" is neither an ISO time (2026-12-31T23:00:00Z) nor a duration (90s, 30m, 12h, 7d)`);
  }
  // A content that is expired the moment it is published is a typo, not an intent.
  if (at <= now) throw new CanopyError('ERR_USAGE', `expires: "${text}" is ${rel ? 'zero' : 'in the past'}; give a later time or a duration above 0`);
  return new Date(at).toISOString();
}

/** A duration such as `90s`, `30m`, `12h`, `7d` (or plain milliseconds), in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|[smhd])?\s*$/.exec(text);
  if (!m) throw new CanopyError('ERR_USAGE', `"${text}" is not a duration (500ms, 90s, 30m, 12h, 7d)`);
  return Number(m[1]) * (m[2] === undefined || m[2] === 'ms' ? 1 : UNIT_MS[m[2]]!);
}
