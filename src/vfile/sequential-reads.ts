/**
 * Remembers where recent reads of each content ended, so a read that starts where another
 * ended is recognised as sequential — the pattern of players fetching HLS segments or
 * bounded ranges one after another — and read-ahead can continue past its range.
 * Bounded: the oldest ends are forgotten first.
 */
export const MAX_REMEMBERED = 4096;

export class SequentialReads {
  private readonly ends = new Set<string>();

  /** Whether a read of `contentId` starting at `start` continues an earlier one. */
  continues(contentId: string, start: number): boolean {
    return start > 0 && this.ends.has(`${contentId}:${start}`);
  }

  /** Records that a read ended just before `endExclusive`. */
  ended(contentId: string, endExclusive: number): void {
    const key = `${contentId}:${endExclusive}`;
    this.ends.delete(key);
    this.ends.add(key);
    if (this.ends.size > MAX_REMEMBERED) this.ends.delete(this.ends.values().next().value!);
  }
}
