/**
 * FTP command lines (RFC 959 §4.1, §5.3): a verb of 3-4 letters, optionally a space and an
 * argument, ended by CRLF (a bare LF is accepted, as most servers do). Verbs are case-
 * insensitive; arguments keep their case and inner spaces (file names may contain them).
 * Pure and total: any input yields a command or a reason it is malformed.
 */
export const MAX_LINE = 4096;

export type ParsedCommand = { ok: true; verb: string; arg: string } | { ok: false; reason: string };

const VERB = /^[A-Za-z]{3,4}$/;

export function parseCommand(line: string): ParsedCommand {
  if (line.length > MAX_LINE) return { ok: false, reason: 'line too long' };
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (/[\0\r\n]/.test(text)) return { ok: false, reason: 'control characters in command' };
  const space = text.indexOf(' ');
  const verb = space < 0 ? text : text.slice(0, space);
  if (!VERB.test(verb)) return { ok: false, reason: 'not a command' };
  return { ok: true, verb: verb.toUpperCase(), arg: space < 0 ? '' : text.slice(space + 1) };
}

/**
 * Splits a byte stream into lines. Returns complete lines and keeps the rest; a partial
 * line longer than MAX_LINE is reported as overflow so the session can refuse it rather
 * than buffer without bound.
 */
export class LineSplitter {
  private pending = '';

  push(chunk: string): { lines: string[]; overflow: boolean } {
    this.pending += chunk;
    const parts = this.pending.split('\n');
    this.pending = parts.pop()!;
    return { lines: parts, overflow: this.pending.length > MAX_LINE };
  }

  /** Drops anything buffered (after a TLS upgrade, plaintext sent early must not be obeyed). */
  reset(): void {
    this.pending = '';
  }
}

/** Parses the argument of REST: a decimal byte offset. */
export function parseRestOffset(arg: string): number | undefined {
  if (!/^\d{1,16}$/.test(arg)) return undefined;
  const n = Number(arg);
  return Number.isSafeInteger(n) ? n : undefined;
}
