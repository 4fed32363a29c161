/**
 * A member the root has revoked is told so when it dials (ERR_NODE_REVOKED, see
 * src/wire/revoked-answer.ts). Retrying cannot help (its certificate stays revoked), so the
 * first such answer, wherever it arrives (tree join, root link), stops the retry loops and
 * ends the `canopy node` process with that error and a non-zero exit.
 */
import type { CanopyError} from '../core/errors.js';
import { isCanopyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export class RevokedSignal {
  readonly revoked: Promise<CanopyError>;
  private resolve!: (err: CanopyError) => void;
  private seen = false;

  constructor(private readonly log: Logger) {
    this.revoked = new Promise((resolve) => (this.resolve = resolve));
  }

  /** True (and the node is stopping) if `err` says this node is revoked. */
  check(err: unknown): boolean {
    if (!isCanopyError(err, 'ERR_NODE_REVOKED')) return this.seen;
    if (!this.seen) {
      this.seen = true;
      this.log.error('this node has been revoked by the root; stopping (join again with a new token and a fresh data directory)', { err });
      this.resolve(err);
    }
    return true;
  }
}
