/**
 * What tree nodes say to each other. The core passes these as objects; over the peer wire
 * they travel inside one `tree` frame (see tree-codec.ts), checked field by field there.
 *
 *   join     joiner → root      register attributes, start the placement walk
 *   info     any → joiner       my children and whether I have room (+ dictionary from root)
 *   walk     joiner → any       continue the placement walk here
 *   adopt    joiner → parent    take me (and my subtree) as a child
 *   adopted  parent → joiner    yes: here is your path to the root and the floods I saw
 *   refused  parent → joiner    no room (or you are my ancestor): here are my children
 *   down     parent → child     heartbeat with the child's path and dictionary updates
 *   up       child → parent     heartbeat with the child's subtree rollup (also sent, batched, on change)
 *   leave    either way         we are no longer parent and child
 *   dict-add node → root        register attributes the node's dictionary lacks
 *   flood    neighbour          an announcement being flooded
 *   ack      neighbour          flood received (so the sender stops retrying)
 *   route    neighbour          a message for the nodes that meet a criteria
 *   count    parent → child     how many nodes of your subtree meet this criteria?
 *   counted  child → parent     the answer (partial when a subtree did not answer)
 */
import type { Attributes } from '../core/attributes.js';
import type { FloodMessage, NodeRef } from '../gossip/flood-messages.js';
import type { Rollup } from './rollup.js';

export type { NodeRef };

export type TreeMessage =
  | { k: 'join'; self: NodeRef; attrs: Attributes }
  | { k: 'info'; children: NodeRef[]; room: boolean; dict?: string[] }
  | { k: 'walk'; self: NodeRef }
  | { k: 'adopt'; self: NodeRef; rollup: Rollup; seen: string[] }
  | { k: 'adopted'; path: NodeRef[]; seen: string[] }
  | { k: 'refused'; children: NodeRef[]; cycle: boolean }
  | { k: 'down'; path: NodeRef[]; dictBase: number; dict: string[] }
  | { k: 'up'; rollup: Rollup; dictVersion: number }
  | { k: 'leave' }
  | { k: 'dict-add'; attrs: Attributes }
  | FloodMessage
  | { k: 'route'; id: string; origin: string; criteria: string; payload: unknown }
  | { k: 'count'; qid: string; criteria: string }
  | { k: 'counted'; qid: string; n: number; partial: boolean };

export type TreeMessageKind = TreeMessage['k'];
