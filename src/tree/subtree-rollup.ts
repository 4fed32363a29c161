/**
 * The rollup of a node's subtree: its own bitmap's rollup combined with its children's. It
 * carries a version bumped on every change, so a tick can tell cheaply whether the parent
 * must be sent a new one; the node's own rollup is rebuilt only when its bitmap changes.
 */
import type { Bitmap } from './bitmap.js';
import { combine, ownRollup, sameRollup, type Rollup } from './rollup.js';

export class SubtreeRollup {
  current: Rollup;
  /** Bumped whenever the rollup changes. */
  version = 0;
  private readonly own: { bitmap: Bitmap; rollup: Rollup };

  constructor(
    bitmap: Bitmap,
    private readonly selfId: string,
  ) {
    this.current = ownRollup(bitmap, selfId);
    this.own = { bitmap, rollup: this.current };
  }

  recompute(bitmap: Bitmap, children: Rollup[]): void {
    if (this.own.bitmap !== bitmap) this.own.rollup = ownRollup((this.own.bitmap = bitmap), this.selfId);
    const next = combine(this.own.rollup, children);
    if (sameRollup(next, this.current)) return;
    this.version++;
    this.current = next;
  }
}
