/**
 * How many requests one content's session keeps outstanding, in all and per peer. Shared by
 * the node's session and the simulator, so both run the scheduler with the same pipelines.
 */

/** Outstanding bytes per content: deeper pipelines make every block arrive later (they share the download link). */
export const IN_FLIGHT_BYTES = 24 * 2 ** 20;

export function pipelineLimits(blockSize: number, maxInFlight: number, maxInFlightPerPeer: number): { maxInFlight: number; maxInFlightPerPeer: number } {
  // Outstanding bytes, not requests, are what matter: too deep a pipeline makes every block
  // arrive late, so a block one node just got from the origin would reach it too late for
  // the others to fetch it from that node.
  const total = Math.min(maxInFlight, Math.max(4, Math.floor(IN_FLIGHT_BYTES / blockSize)));
  return { maxInFlight: total, maxInFlightPerPeer: Math.min(maxInFlightPerPeer, Math.max(2, Math.ceil(total / 3))) };
}
