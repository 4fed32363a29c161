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

/**
 * A well-mixed 32-bit score for `text`: FNV-1a followed by murmur3's finaliser. FNV-1a alone
 * is a poor rendezvous score: strings that differ only in their last characters (the block
 * index) get scores whose order across members barely changes, so one member of eight was
 * designated a median 12 of 32 blocks (p90 20) instead of about 4 (issue 17 session 8).
 */
export function mixedHash(text: string): number {
  let h = fnv1a(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member with the highest rendezvous score for `index`. */
function highestScore(members: readonly string[], index: number): string {
  let owner = members[0]!;
  let bestScore = -1;
  for (const m of members) {
    const score = mixedHash(`${m}:${index}`);
    if (score > bestScore) {
      owner = m;
      bestScore = score;
    }
  }
  return owner;
}

export class Rendezvous {
  selfId = '';
  private members: string[] = [];
  private readonly designated = new Map<number, string>();

  /**
   * Members that left the designation lately, with when they left: a seed's `seeded` notice
   * for a block it sent to one of them may still be on its way (issue 24 item 3).
   */
  private readonly departed = new Map<string, number>();

  /** The downloaders of this content, self included; returns false when nothing changed. */
  set(selfId: string, members: readonly string[], now = 0): boolean {
    const sorted = [...new Set([...members, selfId])].sort();
    if (selfId === this.selfId && sorted.join() === this.members.join()) return false;
    for (const m of this.leaving(sorted)) this.departed.set(m, now);
    for (const m of sorted) this.departed.delete(m);
    this.selfId = selfId;
    this.members = sorted;
    this.designated.clear();
    return true;
  }

  /** Members of the current designation that `next` no longer has. */
  private leaving(next: readonly string[]): Set<string> {
    const keep = new Set(next);
    return new Set(this.members.filter((m) => m !== this.selfId && !keep.has(m)));
  }

  /** Whether other members share the designation (this node is one of several downloaders). */
  get shared(): boolean {
    return this.members.length > 1;
  }

  /** The member designated to fetch `index` from seeds first. */
  owner(index: number): string {
    if (!this.shared) return this.selfId;
    let owner = this.designated.get(index);
    if (owner === undefined) {
      owner = highestScore(this.members, index);
      this.designated.set(index, owner);
    }
    return owner;
  }

  /**
   * The member with the highest score for `index` among those `skip` does not name (undefined
   * when it names them all): who takes a block from a seed first once the seed has declined
   * first copies to some members (first-copy.ts), so the next in the same order takes it.
   */
  ownerAmong(index: number, skip: (member: string) => boolean): string | undefined {
    const left = this.members.filter((m) => !skip(m));
    return left.length === 0 ? undefined : highestScore(left, index);
  }

  /**
   * Whether a seed's notice that it sent `index` most likely concerns a member that left
   * less than `windowMs` ago: under the designation that still counted it, that member owned
   * the block. Such a send will never be relayed, so the notice must not hold anyone back.
   */
  sentToDeparted(index: number, now: number, windowMs: number): boolean {
    for (const [m, at] of this.departed) if (now - at > windowMs) this.departed.delete(m);
    if (this.departed.size === 0) return false;
    return this.departed.has(highestScore([...this.members, ...this.departed.keys()], index));
  }

  /** This node's own order over blocks designated to others, so helpers rarely pick the same one. */
  helperScore(index: number): number {
    return mixedHash(`${this.selfId}/${index}`);
  }
}
