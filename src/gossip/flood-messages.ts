/**
 * What flooding says over a tree edge (tree-messages.ts adds these to the control tree's
 * messages; the tree codec checks them on the wire):
 *
 *   flood    neighbour          an announcement being flooded
 *   ack      neighbour          flood received (so the sender stops retrying)
 */

/** A node as others reach it: `addr` is opaque to the core (host:port on the wire). */
export interface NodeRef {
  readonly id: string;
  readonly addr: string;
}

export type FloodMessage = { k: 'flood'; id: string; origin: string; payload: unknown } | { k: 'ack'; id: string };
