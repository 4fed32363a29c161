/**
 * Where a new block goes: among the volumes with room (not yet tried for this write), the
 * stripe's next volume when the write names its content and position (consecutive blocks
 * on different volumes, placement.ts), else the block's rendezvous-ranked volume; and
 * whether the node-wide quota allows the write at all.
 */
import { rankVolumes, StripeSequence } from './placement.js';
import type { StripeHint } from './store-types.js';
import type { Volume } from './volume.js';

export class VolumeChoice {
  private readonly sequences = new Map<string, StripeSequence>();

  constructor(
    private readonly volumes: readonly Volume[],
    private readonly quota: number | undefined,
  ) {}

  pick(hash: string, length: number, hint: StripeHint | undefined, tried: ReadonlySet<string>): Volume | undefined {
    const candidates = this.volumes.filter((v) => !tried.has(v.id) && v.hasRoom(length));
    if (candidates.length === 0) return undefined;
    if (hint) return this.sequenceFor(candidates).volumeFor(hint.stripe, hint.index) as Volume;
    return rankVolumes(hash, candidates)[0];
  }

  quotaAllows(length: number): boolean {
    if (this.quota === undefined) return true;
    const used = this.volumes.reduce((s, v) => s + v.usedBytes + v.pendingBytes, 0);
    return used + length <= this.quota;
  }

  private sequenceFor(volumes: Volume[]): StripeSequence {
    const key = volumes.map((v) => `${v.id}:${v.weight}`).join(',');
    let seq = this.sequences.get(key);
    if (!seq) {
      if (this.sequences.size > 16) this.sequences.clear();
      seq = new StripeSequence(volumes);
      this.sequences.set(key, seq);
    }
    return seq;
  }
}
