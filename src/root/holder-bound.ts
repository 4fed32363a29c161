/**
 * A bounded `holders` answer, so what one node opens interest with, hears `have`s from and
 * dials does not grow with the fleet (issue 23). Up to FULL_LIST_UP_TO downloaders everyone
 * is listed to everyone (every test and bench up to 32 nodes). Beyond, the answer takes the
 * shape `canopy sim swarm` simulates:
 * - the **origin group**: the ORIGIN_GROUP downloaders with the highest rendezvous score for
 *   the content (the same for every asker). Only they are given the content's origins (the
 *   root and the manifest's origin), and they see each other, marked `group: true`: the
 *   origin's rendezvous designation runs among them alone, so it stays disjoint;
 * - every asker also gets NEIGHBOURS other downloaders (its own choice by a score of the
 *   asker and the holder, so the askers' lists form a random graph), marked `group: false`,
 *   and up to COMPLETE_HOLDERS complete holders that are not origins (nodes done already).
 */
import { fnv1a } from '../swarm/rendezvous.js';
import type { Holder } from '../wire/messages.js';

/** Downloaders listed in full up to this many. */
export const FULL_LIST_UP_TO = 48;
/** Downloaders that fetch from the origins and see each other. */
export const ORIGIN_GROUP = 32;
/** Other downloaders each asker is given. */
export const NEIGHBOURS = 32;
/** Complete holders (not origins) each asker is given. */
export const COMPLETE_HOLDERS = 8;

/**
 * `all`: every candidate holder but the asker (complete ones first, as the registry lists
 * them); `origins`: the ids that published the content (the root, the manifest's origin).
 */
export function boundHolders(all: readonly Holder[], asker: string, contentId: string, origins: ReadonlySet<string>): Holder[] {
  const partial = all.filter((h) => !h.complete);
  if (partial.length <= FULL_LIST_UP_TO) return [...all];
  const group = new Set(top([...partial.map((h) => h.nodeId), asker], ORIGIN_GROUP, (id) => fnv1a(`${contentId}|${id}`)));
  const inGroup = group.has(asker);
  const mine = (id: string) => fnv1a(`${asker}|${id}`);
  const out: Holder[] = [];
  if (inGroup) for (const h of all) if (h.complete && origins.has(h.nodeId)) out.push(h);
  out.push(...top(all.filter((h) => h.complete && !origins.has(h.nodeId)), COMPLETE_HOLDERS, (h) => mine(h.nodeId)));
  if (inGroup) for (const h of partial) if (group.has(h.nodeId)) out.push({ ...h, group: true });
  const others = partial.filter((h) => !(inGroup && group.has(h.nodeId)));
  for (const h of top(others, NEIGHBOURS, (x) => mine(x.nodeId))) out.push({ ...h, group: false });
  return out;
}

/** The k items with the highest score. */
function top<T>(items: readonly T[], k: number, score: (x: T) => number): T[] {
  return items
    .map((x) => ({ x, s: score(x) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((e) => e.x);
}
