/**
 * Process warnings (MaxListenersExceededWarning, deprecations, experimental features) go
 * into the node's JSON log instead of Node's plain-text line on stderr, so a log shipper
 * sees them and an operator can count them. Removing Node's own listener is the documented
 * way to stop its default print; ours takes its place.
 */
import type { Logger } from '../core/logger.js';

export function routeProcessWarnings(log: Logger): () => void {
  const previous = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (w: Error & { code?: string; emitter?: unknown; count?: number; type?: string }) => {
    log.warn('process warning', { warning: w.name, code: w.code, message: w.message, ...(w.count === undefined ? {} : { count: w.count }), ...(w.type === undefined ? {} : { eventType: w.type }) });
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const l of previous) process.on('warning', l);
  };
}
