/**
 * How many requests one content's session keeps outstanding, in all and per peer. Shared by
 * the node's session and the simulator, so both run the scheduler with the same pipelines.
 */

/**
 * Outstanding bytes per content: deeper pipelines make every block arrive later (they share
 * the download link). 20 MiB (five 4 MiB blocks), not 24 since session 11: `canopy sim swarm
 * --placement lan`, T/T* mean over seeds, 24 -> 20 MiB: 8 nodes 1.164 -> 1.144, 16 nodes
 * 1.230 -> 1.188, 32 nodes (128 MiB) 1.415 -> 1.379, 8 with 2 slow (fast nodes over their own
 * bound) 1.583 -> 1.314 at 128 MiB and 1.282 -> 1.184 at 256 MiB; 16 MiB was worse at 1,000
 * world nodes (1.515) and 12 MiB worse everywhere. Alone it cost 1,000 world nodes 1.348 ->
 * 1.437: far peers' requests idle the link for a round trip, which the scheduler's in-transit
 * allowance covers (scheduler.ts).
 */
export const IN_FLIGHT_BYTES = 20 * 2 ** 20;

export function pipelineLimits(blockSize: number, maxInFlight: number, maxInFlightPerPeer: number): { maxInFlight: number; maxInFlightPerPeer: number } {
  // Outstanding bytes, not requests, are what matter: too deep a pipeline makes every block
  // arrive late, so a block one node just got from the origin would reach it too late for
  // the others to fetch it from that node.
  const total = Math.min(maxInFlight, Math.max(4, Math.floor(IN_FLIGHT_BYTES / blockSize)));
  return { maxInFlight: total, maxInFlightPerPeer: Math.min(maxInFlightPerPeer, Math.max(2, Math.ceil(total / 3))) };
}

/**
 * Requests a downloader keeps outstanding at a seed while it shares the swarm with other
 * downloaders: a shallow queue keeps what the seed sends decided close to when it sends it.
 */
export const SEED_PIPELINE = 2;

/**
 * How many requests to keep outstanding at peer `p`. At a seed, while other downloaders share
 * the swarm (`swarm`: the designation has other members, or other holders are open), two,
 * and one until the seed's pace to us is measured: at the start every downloader asks the
 * origin at once, and a node on a slow link holding two of its four upload slots for seconds
 * left the origin at ~40 % of its link while the fast nodes were answered busy (issue 17
 * session 8, `canopy sim swarm --nodes 8 --slow 2 --size 128MiB`: fast nodes 1.80-2.08x their
 * bound -> 1.51-1.78x). Elsewhere, `perPeer`.
 */
export function peerPipeline(p: { isSeed: boolean; measuredRate: number }, swarm: boolean, perPeer: number): number {
  if (!p.isSeed || !swarm) return perPeer;
  return p.measuredRate > 0 ? SEED_PIPELINE : 1;
}
