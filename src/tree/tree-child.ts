/** What a tree node keeps of each child: its reference, its subtree's rollup, its liveness, and the dictionary version it has. */
import type { Liveness } from './liveness.js';
import type { Rollup } from './rollup.js';
import type { NodeRef } from './tree-messages.js';

export interface Child {
  ref: NodeRef;
  rollup: Rollup;
  live: Liveness;
  dictVersion: number;
}
