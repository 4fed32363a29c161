/**
 * The root addresses a join token carries (security/join-token.ts): this root's peer address
 * and those of the other roots on its database seen lately in the lease rounds (every root
 * writes its addresses there), this root first. A wildcard bind address (0.0.0.0, ::) says
 * nothing to a joining node and is left out: roots meant to be reached by token bind a real
 * address (--host).
 */
import type { LeaderView } from './state/leadership.js';
import { formatAddress, parseAddress, type PeerAddress } from '../wire/transport.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

export function tokenRootAddresses(self: PeerAddress, leader: LeaderView | undefined): string[] {
  const out: string[] = [];
  const add = (a: PeerAddress | null) => {
    if (!a || a.port === 0 || WILDCARDS.has(a.host)) return;
    const text = formatAddress(a);
    if (!out.includes(text)) out.push(text);
  };
  add(self);
  for (const r of leader?.roots ?? []) add(r.peer === undefined ? null : parseAddress(r.peer));
  return out;
}
