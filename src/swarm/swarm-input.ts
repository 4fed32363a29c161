/**
 * What goes into the swarm scheduler and what comes out. The scheduler is a pure core: the
 * node's session (real sockets) and the simulator (`canopy sim swarm`, simulated links) both
 * feed it `SwarmInput`s with the time, and carry out the `SwarmAction`s it returns.
 */
import type { Bitfield } from './bitfield.js';
import type { PeerLoad } from './peer-state.js';

export type SwarmAction =
  | { type: 'request'; peer: string; index: number }
  | { type: 'cancel'; peer: string; index: number }
  | { type: 'ban'; peer: string; reason: string }
  | { type: 'complete' };

/**
 * `busy`: the holder's upload queue is full; ask it again after a block's time, elsewhere meanwhile.
 * `lost`: a relay lost the block it was still receiving; it has it no more until a new `have`.
 * `declined`: the origin sends this block's first copy to a faster downloader (first-copy.ts).
 */
export type FailureKind = 'refused' | 'unservable' | 'error' | 'busy' | 'lost' | 'declined';

export type SwarmInput =
  /** Interest opened with a holder: its bitfield, load report and the measured round trip. */
  | { type: 'peer-joined'; peer: string; have: Bitfield; load: PeerLoad; rttMs: number; isSeed: boolean }
  /** A fresh load report and round trip. */
  | { type: 'peer-load'; peer: string; load: PeerLoad; rttMs: number }
  /** A holder stored a new block, or one started arriving there and can be relayed (`have`). */
  | { type: 'peer-has'; peer: string; index: number }
  /**
   * A seed started sending this block to someone (`seeded`), or (`declined`: that member's
   * id) declined its first copy to a slow downloader (first-copy.ts).
   */
  | { type: 'seeded'; index: number; declined?: string }
  /** The connection to a holder closed. */
  | { type: 'peer-left'; peer: string }
  /** The downloaders of the content (for rendezvous designation). */
  | { type: 'swarm'; selfId: string; members: readonly string[] }
  /** A client waits for this block. */
  | { type: 'urgent'; index: number; deadline: number }
  /** A request left for the wire (after the download cap let it go). */
  | { type: 'sent'; peer: string; index: number }
  /** Bytes arrived from a peer at `at` (a block still arriving counts). */
  | { type: 'heard'; peer: string; at: number }
  /** Our own loop stalled `ms` beyond its tick. */
  | { type: 'paused'; ms: number }
  /** A block this node got some other way (a concurrent read, a repeated block). */
  | { type: 'held'; index: number }
  /** A block arrived; `valid` is false when it did not match its hash. */
  | { type: 'block'; peer: string; index: number; valid: boolean }
  /** A request failed without data. */
  | { type: 'failure'; peer: string; index: number; kind: FailureKind }
  /** Background prefetch must wait (closed window) or may go again. */
  | { type: 'bulk-paused'; paused: boolean }
  /** The periodic pass: times out stalls and schedules. */
  | { type: 'tick' };
