/**
 * The attribute dictionary: which bit stands for which attribute. Entries are `key` (the
 * node has the attribute, whatever its value) and `key=value`. Only the root appends; the
 * list is sent down the tree, so every node holds a prefix of the root's list and a bit
 * means the same thing everywhere. The version is the number of entries; bits are never
 * reused, so bitmaps made with an older version stay valid.
 *
 * Bit 0 is reserved: a node sets it when it has an attribute its dictionary does not know
 * yet, and routing then treats its subtree as "may match anything" until the bit clears.
 */
import type { Attributes } from '../core/attributes.js';
import { fromBits, type Bitmap } from './bitmap.js';

export const UNKNOWN_BIT = 0;
export const MAX_DICTIONARY_ENTRIES = 65_536;
const NO_ENTRIES: string[] = [];

export function entriesOf(attrs: Attributes): string[] {
  return Object.entries(attrs).flatMap(([k, v]) => (v === '' ? [k] : [k, `${k}=${v}`]));
}

/**
 * Where entries are stored. Each node normally has its own; the simulator gives all of its
 * nodes one shared log (they all hold prefixes of the root's list, so only each node's
 * version differs) to keep 100,000 copies of the dictionary out of memory.
 */
export class DictionaryLog {
  readonly entries: string[] = [];
  readonly bits = new Map<string, number>();

  push(entry: string): void {
    if (this.bits.has(entry)) return;
    this.bits.set(entry, this.entries.length + 1);
    this.entries.push(entry);
  }
}

export class AttributeDictionary {
  private length = 0;

  constructor(private readonly log: DictionaryLog = new DictionaryLog()) {}

  get version(): number {
    return this.length;
  }

  /** The bit of `key` or `key=value`, or undefined when this copy does not know it (yet). */
  bitOf(entry: string): number | undefined {
    const bit = this.log.bits.get(entry);
    return bit !== undefined && bit <= this.length ? bit : undefined;
  }

  /** Entries added after `version` (what a node at that version is missing). */
  since(version: number): string[] {
    return version >= this.length ? NO_ENTRIES : this.log.entries.slice(version, this.length);
  }

  /** Root only: makes sure every attribute has a bit. Returns whether the dictionary grew. */
  register(attrs: Attributes): boolean {
    const before = this.length;
    for (const e of entriesOf(attrs)) {
      if (this.bitOf(e) === undefined && this.length < MAX_DICTIONARY_ENTRIES) this.append(e);
    }
    return this.length > before;
  }

  /** Appends a delta received from the parent; ignores it unless it starts at or before where we end. */
  extend(base: number, delta: readonly string[]): boolean {
    if (base > this.length || base + delta.length <= this.length) return false;
    const fresh = delta.slice(this.length - base);
    for (const e of fresh) this.append(e);
    return fresh.length > 0;
  }

  /** The node's bitmap; the unknown bit is set when an attribute has no bit yet. */
  bitmapOf(attrs: Attributes): Bitmap {
    const bits: number[] = [];
    for (const e of entriesOf(attrs)) bits.push(this.bitOf(e) ?? UNKNOWN_BIT);
    return fromBits(bits);
  }

  private append(entry: string): void {
    if (this.length < this.log.entries.length) {
      // Shared log: the entry is already there (every copy is a prefix of the root's list).
      this.length++;
      return;
    }
    this.log.push(entry);
    this.length = this.log.entries.length;
  }
}
