/**
 * Peers that stop delivering: a peer with requests outstanding that has sent nothing for far
 * longer than its own pace predicts loses those requests (they go to other holders) and is
 * choked with backoff, as is one whose connection broke. Part of the scheduler's pass
 * (`scheduler.ts`), kept apart as one rule with its own constants.
 */
import type { PeerState } from './peer-state.js';
import type { SwarmAction } from './swarm-input.js';
import type { SwarmState } from './swarm-state.js';

/** Silence shorter than this is never a stall, whatever the peer's pace. */
export const STALL_MIN_MS = 8_000;
const CHOKE_BASE_MS = 2_000;

/** Not asked again for a while, longer after each failure in a row (a delivery resets it). */
export function choke(p: PeerState, now: number): void {
  p.failures++;
  p.chokedUntil = now + CHOKE_BASE_MS * 2 ** Math.min(p.failures - 1, 5);
}

/** Cancels the requests of every stalled peer and chokes it. */
export function expireStalls(s: SwarmState, now: number, actions: SwarmAction[]): void {
  const length = s.blockLength;
  for (const p of s.peers.values()) {
    if (p.inFlight.size === 0) continue;
    let since = Math.max(p.lastDeliveryAt, p.lastHeardAt);
    let first = Infinity;
    for (const t of p.inFlight.values()) first = Math.min(first, t);
    since = Math.max(since, first);
    if (now - since < STALL_MIN_MS) continue;
    // A peer is stalled only when it is far behind what its own rate and queue predict: a busy
    // origin serving many downloaders is slow, not stalled.
    const typical = p.measuredRate > 0 ? (length / p.measuredRate) * 1000 * 4 : 0;
    if (now - since < Math.max(typical, 3 * p.expectedMs(length))) continue;
    s.stats.stalled += p.inFlight.size;
    s.cancelAll(p, actions);
    choke(p, now);
  }
}
