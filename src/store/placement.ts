/**
 * Which volume holds a block: weighted rendezvous (highest random weight) hashing, as in
 * Kraken's CA store. Every block hash picks the volume with the highest score, so blocks
 * spread evenly by weight, and adding or losing a volume only moves that volume's share.
 */
import { createHash } from 'node:crypto';

export interface WeightedVolume {
  readonly id: string;
  readonly weight: number;
}

function unitScore(volumeId: string, key: string): number {
  const digest = createHash('sha256').update(volumeId).update('\0').update(key).digest();
  // 52 bits of the digest as a fraction in (0, 1).
  const n = digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4);
  return (n + 1) / (2 ** 52 + 1);
}

/** Volumes ranked best first for this key; the first live one is the block's home. */
export function rankVolumes<V extends WeightedVolume>(key: string, volumes: readonly V[]): V[] {
  return volumes
    .map((v) => ({ v, score: -v.weight / Math.log(unitScore(v.id, key)) }))
    .sort((a, b) => b.score - a.score)
    .map((x) => x.v);
}
