/**
 * Which volume holds a block. Two rules, both pure:
 *
 * - Blocks written as part of a content (a stripe: an ingest or a download) follow a smooth
 *   weighted round-robin sequence over the live volumes (nginx's algorithm). Consecutive
 *   blocks land on different volumes, so a sequential read keeps every disk busy, and bytes
 *   per volume track the weights exactly (to within one block) instead of statistically.
 *   Each stripe starts at its own offset into the sequence (from a hash of its key), so
 *   many small contents do not all begin on the first volume.
 * - A block written with no stripe picks by weighted rendezvous (highest random weight)
 *   hashing of its hash, as in Kraken's CA store; it is also the fallback order when the
 *   stripe's volume has no room.
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

/** How far into the shared sequence a stripe may start; bounds the memo below. */
const MAX_START_OFFSET = 1024;

/**
 * The smooth weighted round-robin sequence for one set of volumes, extended lazily and
 * memoised (one small integer per position), so position i is O(1) after the first use.
 */
export class StripeSequence {
  private readonly weights: number[];
  private readonly total: number;
  private readonly current: number[];
  private readonly alternate: boolean;
  private seq = new Uint16Array(1024);
  private length = 0;

  constructor(readonly volumes: readonly WeightedVolume[]) {
    this.weights = volumes.map((v) => v.weight);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.current = volumes.map(() => 0);
    this.alternate = volumes.length > 1 && Math.max(...this.weights) * 2 <= this.total;
  }

  /** The volume for block `index` of the stripe named `key`. */
  volumeFor(key: string, index: number): WeightedVolume {
    return this.volumes[this.at(startOffset(key) + index)]!;
  }

  private at(position: number): number {
    while (this.length <= position) this.extend();
    return this.seq[position]!;
  }

  private extend(): void {
    if (this.length === this.seq.length) {
      const bigger = new Uint16Array(this.seq.length * 2);
      bigger.set(this.seq);
      this.seq = bigger;
    }
    // Plain smooth WRR can repeat a volume at a cycle boundary; when the weights allow
    // (no volume above half the total), the previous pick sits this turn out.
    const previous = this.length > 0 && this.alternate ? this.seq[this.length - 1]! : -1;
    let best = -1;
    for (let i = 0; i < this.weights.length; i++) {
      this.current[i]! += this.weights[i]!;
      if (i !== previous && (best < 0 || this.current[i]! > this.current[best]!)) best = i;
    }
    this.current[best]! -= this.total;
    this.seq[this.length++] = best;
  }
}

export function startOffset(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % MAX_START_OFFSET;
}
