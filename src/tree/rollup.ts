/**
 * A subtree's rollup: the OR of every bitmap in it (which attributes someone has), the AND
 * (which attributes everyone has, so negations can prune too), the number of nodes, and a
 * 256-bit Bloom filter of node ids (so `node=<id>` criteria can prune).
 */
import { and, equals, or, trim, type Bitmap } from './bitmap.js';

export interface Rollup {
  readonly or: Bitmap;
  readonly and: Bitmap;
  readonly count: number;
  readonly ids: Bitmap;
}

export const ID_BLOOM_BITS = 256;

/** FNV-1a over the id, reduced to one of the Bloom filter's bits. */
export function idBit(nodeId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < nodeId.length; i++) h = Math.imul(h ^ nodeId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % ID_BLOOM_BITS;
}

export function ownRollup(bitmap: Bitmap, nodeId: string): Rollup {
  return { or: bitmap, and: bitmap, count: 1, ids: idBloom(nodeId) };
}

/** Whether a node may be in the subtree this rollup sums up (false: it certainly is not). */
export function mayHold(rollup: Rollup, nodeId: string): boolean {
  const bit = idBit(nodeId);
  return ((rollup.ids[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
}

/** The id filter of one node, always the full 256 bits wide so combining never needs to grow it. */
export function idBloom(nodeId: string): Bitmap {
  const ids = new Uint32Array(ID_BLOOM_BITS / 32);
  ids[idBit(nodeId) >>> 5] = 1 << (idBit(nodeId) & 31);
  return ids;
}

/** The rollup of a node with these children, computed in one pass (it runs on every change). */
export function combine(self: Rollup, children: readonly Rollup[]): Rollup {
  if (children.length === 0) return self;
  let orLen = self.or.length;
  let andLen = self.and.length;
  let count = self.count;
  for (const c of children) {
    orLen = Math.max(orLen, c.or.length);
    andLen = Math.min(andLen, c.and.length);
    count += c.count;
  }
  const orOut = new Uint32Array(orLen);
  orOut.set(self.or);
  const andOut = self.and.slice(0, andLen);
  const ids = Uint32Array.from(self.ids);
  for (const c of children) {
    for (let i = 0; i < c.or.length; i++) orOut[i]! |= c.or[i]!;
    for (let i = 0; i < andLen; i++) andOut[i]! &= c.and[i]!;
    const cids = c.ids;
    if (cids.length > ids.length) return combineSlow(self, children);
    for (let i = 0; i < cids.length; i++) ids[i]! |= cids[i]!;
  }
  return { or: trim(orOut), and: trim(andOut), count, ids };
}

function combineSlow(self: Rollup, children: readonly Rollup[]): Rollup {
  let r = self;
  for (const c of children) r = { or: or(r.or, c.or), and: and(r.and, c.and), count: r.count + c.count, ids: or(r.ids, c.ids) };
  return r;
}

export function sameRollup(a: Rollup, b: Rollup): boolean {
  return a.count === b.count && equals(a.or, b.or) && equals(a.and, b.and) && equals(a.ids, b.ids);
}
