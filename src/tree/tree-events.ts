/** What goes into the tree core (events) and what comes out (actions). No I/O on either side. */
import type { Attributes } from '../core/attributes.js';
import type { NodeRef, TreeMessage } from './tree-messages.js';

export type TreeEvent =
  /** Begin: the root is placed at once, other nodes start their join walk. */
  | { type: 'start'; now: number }
  | { type: 'message'; now: number; from: NodeRef; msg: TreeMessage }
  /** Answer to a `probe` action: round-trip time in ms, or null when the node did not answer. */
  | { type: 'probed'; now: number; rtts: ReadonlyMap<string, number | null> }
  /** Timers: the adapter calls this every few hundred milliseconds. */
  | { type: 'tick'; now: number }
  | { type: 'flood'; now: number; id: string; payload: unknown }
  | { type: 'send-qualified'; now: number; id: string; criteria: string; payload: unknown }
  | { type: 'count'; now: number; qid: string; criteria: string }
  | { type: 'set-attrs'; now: number; attrs: Attributes };

export type TreeAction =
  | { type: 'send'; to: NodeRef; msg: TreeMessage }
  | { type: 'probe'; targets: NodeRef[] }
  /** A flood or routed message reached this node (routed ones only where the criteria matches). */
  | { type: 'deliver'; via: 'flood' | 'route'; id: string; origin: string; payload: unknown }
  | { type: 'placed'; parent: NodeRef; depth: number }
  | { type: 'parent-lost'; parent: NodeRef }
  | { type: 'child-lost'; child: NodeRef }
  | { type: 'counted'; qid: string; matching: number; partial: boolean };

export interface TreeOptions {
  /** Most children a node takes. */
  fanout: number;
  heartbeatMs: number;
  /** A parent or child silent this long is dead. */
  deadAfterMs: number;
  /** A changed rollup is sent up at most this often. */
  rollupBatchMs: number;
  walkTimeoutMs: number;
  ackTimeoutMs: number;
  countTimeoutMs: number;
}

export const DEFAULT_TREE_OPTIONS: TreeOptions = {
  fanout: 16,
  heartbeatMs: 1000,
  deadAfterMs: 3500,
  rollupBatchMs: 200,
  walkTimeoutMs: 3000,
  ackTimeoutMs: 1000,
  countTimeoutMs: 5000,
};
