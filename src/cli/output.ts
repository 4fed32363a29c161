/** How commands print: human text by default, one JSON object with --json; errors to stderr with their code. */
import { CanopyError, isCanopyError } from '../core/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function reportError(err: unknown, json: boolean): number {
  const e = isCanopyError(err) ? err : new CanopyError('ERR_INTERNAL', (err as Error)?.message ?? String(err));
  if (json) process.stderr.write(`${JSON.stringify({ ok: false, error: e.toJSON() })}\n`);
  else process.stderr.write(`canopy: error [${e.code}]: ${e.message}\n`);
  if (!isCanopyError(err) && process.env.CANOPY_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  return e.code === 'ERR_USAGE' ? 2 : 1;
}

/** Runs a command action, turning any thrown error into a message and exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const opts = args.find((a) => typeof a === 'object' && a !== null && 'json' in a) as { json?: boolean } | undefined;
      process.exitCode = reportError(err, opts?.json === true);
    }
  };
}
