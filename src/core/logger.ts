/**
 * Structured logs: one JSON object per line on stderr (pino), so they can be grepped or
 * shipped. The small `Logger` interface stays ours so components do not depend on pino,
 * and errors passed as fields are reduced to `{ message, code }` (no stacks in peer logs).
 */
import { pino, type DestinationStream, type Logger as Pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Kept for callers written against the skeleton's name. */
export type Level = LogLevel;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

function clean(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? { message: v.message, code: (v as { code?: string }).code } : v]));
}

function wrap(p: Pino): Logger {
  return {
    debug: (m, f) => p.debug(clean(f), m),
    info: (m, f) => p.info(clean(f), m),
    warn: (m, f) => p.warn(clean(f), m),
    error: (m, f) => p.error(clean(f), m),
    child: (fields) => wrap(p.child(clean(fields))),
  };
}

function envLevel(): LogLevel {
  const v = process.env.CANOPY_LOG_LEVEL;
  return v && LEVELS.includes(v) ? (v as LogLevel) : 'info';
}

/**
 * `out` receives each line; by default lines go to stderr synchronously, so the last words
 * of a crashing process are not lost in a buffer.
 */
export function createLogger(base: Record<string, unknown> = {}, min: LogLevel = envLevel(), out?: (line: string) => void): Logger {
  const dest: DestinationStream = out ? { write: (line: string) => out(line) } : pino.destination({ fd: 2, sync: true });
  const p = pino(
    {
      level: min,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  return wrap(p);
}
