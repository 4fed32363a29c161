/**
 * Failure detection over a node's tree neighbours (each judged by its own Liveness): children
 * are checked at most every half heartbeat, and time our own loop was stalled between two
 * ticks is credited to every neighbour, since it is not their silence.
 */
import { Liveness } from './liveness.js';
import type { Child } from './tree-child.js';
import type { TreeOptions } from './tree-events.js';

export class FailureWatch {
  /** When the adapter last ticked: a long gap means our own loop was stalled (see Liveness). */
  private lastTickAt: number | undefined;
  private lastDeathCheck = -Infinity;

  constructor(private readonly options: TreeOptions) {}

  /** A fresh liveness for a neighbour first heard at `now`. */
  liveness(now: number): Liveness {
    return new Liveness(now, this.options.heartbeatMs, this.options.deadAfterMs);
  }

  /** Time our own loop was stalled between ticks is not a neighbour's silence. */
  creditStall(now: number, parent: { live: Liveness } | null, children: Iterable<Child>): void {
    const last = this.lastTickAt;
    this.lastTickAt = now;
    const stalled = last === undefined ? 0 : now - last - this.options.heartbeatMs / 2;
    if (stalled <= 0) return;
    parent?.live.paused(stalled);
    for (const c of children) c.live.paused(stalled);
  }

  /** The children silent for too long; none when they were checked less than half a heartbeat ago. */
  deadChildren(now: number, children: Iterable<Child>): Child[] {
    if (now - this.lastDeathCheck < this.options.heartbeatMs / 2) return [];
    this.lastDeathCheck = now;
    return [...children].filter((c) => c.live.dead(now));
  }
}
