/**
 * Rendezvous (highest-random-weight) designation of blocks to the members of a swarm: each
 * member computes, without talking to the others, which member should fetch a block from a
 * seed first, so downloaders ask the origin for disjoint blocks and it sends each about once.
 */

/** FNV-1a, 32 bits: a cheap, stable hash for rendezvous scores (not for security). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Rendezvous {
  selfId = '';
  private members: string[] = [];
  private readonly designated = new Map<number, string>();

  /** The downloaders of this content, self included; returns false when nothing changed. */
  set(selfId: string, members: readonly string[]): boolean {
    const sorted = [...new Set([...members, selfId])].sort();
    if (selfId === this.selfId && sorted.join() === this.members.join()) return false;
    this.selfId = selfId;
    this.members = sorted;
    this.designated.clear();
    return true;
  }

  /** Members of the current designation that `next` no longer has. */
  leaving(next: readonly string[]): Set<string> {
    const keep = new Set(next);
    return new Set(this.members.filter((m) => m !== this.selfId && !keep.has(m)));
  }

  /** The member designated to fetch `index` from seeds first. */
  owner(index: number): string {
    if (this.members.length <= 1) return this.selfId;
    let owner = this.designated.get(index);
    if (owner === undefined) {
      let bestScore = -1;
      for (const m of this.members) {
        const score = fnv1a(`${m}:${index}`);
        if (score > bestScore) {
          owner = m;
          bestScore = score;
        }
      }
      this.designated.set(index, owner!);
    }
    return owner!;
  }

  /** This node's own order over blocks designated to others, so helpers rarely pick the same one. */
  helperScore(index: number): number {
    return fnv1a(`${this.selfId}/${index}`);
  }
}
