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

/** The level a logger and all its children share, so a reload (SIGHUP) changes it for all. */
interface Gate {
  min: number;
}
const gates = new WeakMap<Logger, Gate>();

function wrap(p: Pino, gate: Gate): Logger {
  const on = (level: number) => level >= gate.min;
  const logger: Logger = {
    debug: (m, f) => on(0) && p.debug(clean(f), m),
    info: (m, f) => on(1) && p.info(clean(f), m),
    warn: (m, f) => on(2) && p.warn(clean(f), m),
    error: (m, f) => on(3) && p.error(clean(f), m),
    child: (fields) => wrap(p.child(clean(fields)), gate),
  };
  gates.set(logger, gate);
  return logger;
}

/** Changes the least level a logger (made by createLogger) and its children write. */
export function setLogLevel(logger: Logger, level: LogLevel): void {
  const gate = gates.get(logger);
  if (gate) gate.min = LEVELS.indexOf(level);
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
      // pino writes everything it is given; the shared gate decides (setLogLevel).
      level: 'debug',
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  return wrap(p, { min: LEVELS.indexOf(min) });
}
