#!/usr/bin/env node
/**
 * Compares two V8 heap snapshots of one process (issue 25, item 3): objects grouped by
 * constructor (the "Comparison" view of Chrome DevTools), with the count and self size in
 * each and the growth, largest first. Usage:
 *   node scripts/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25] [--new] [--retainers NAME]
 * --new: only objects of AFTER allocated since BEFORE was written and still alive (V8 keeps
 *   an object's id across the snapshots of one process, so an id BEFORE lacks is a new
 *   object): what a leak leaves behind, without the objects that merely survived.
 * --retainers NAME: for the objects of AFTER grouped as NAME (new ones with --new), which
 *   objects hold them and through which property, most frequent first.
 * --collections: every Map, Set and Array held in a property of a named object (e.g.
 *   `Downloader.fetched`), with the size of its backing store in both snapshots, largest
 *   growth first: a collection keyed by content id that is never pruned shows here.
 * The soak bench writes such pairs with --heap-snapshots DIR.
 */
import { readFileSync } from 'node:fs';

function load(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields;
  const ef = meta.edge_fields;
  return {
    snap,
    width: nf.length,
    eWidth: ef.length,
    types: meta.node_types[0],
    edgeTypes: meta.edge_types[0],
    at: Object.fromEntries(['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => [f, nf.indexOf(f)])),
    eAt: Object.fromEntries(['type', 'name_or_index', 'to_node'].map((f) => [f, ef.indexOf(f)])),
  };
}

/** The group an object belongs to: its constructor for objects, closures and natives, its kind otherwise. */
function groupOf(h, i) {
  const { snap, types, at } = h;
  const type = types[snap.nodes[i + at.type]];
  const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + at.name]] : `(${type})`;
  return `${type === 'closure' ? 'closure ' : ''}${name}`.slice(0, 80);
}

/** Groups the objects (only those whose id is not in `old`, when given) by constructor. */
function summarise(h, old) {
  const { snap, width, at } = h;
  const groups = new Map();
  const ids = new Set();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const id = snap.nodes[i + at.id];
    ids.add(id);
    if (old?.has(id)) continue;
    const key = groupOf(h, i);
    const size = snap.nodes[i + at.self_size];
    total += size;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(key, g);
  }
  return { total, groups, ids };
}

/** Who holds the objects grouped as `name` (only those whose id is not in `old`, when given): "holder .edge" → count. */
function retainers(h, name, old) {
  const { snap, width, eWidth, edgeTypes, at, eAt } = h;
  const out = new Map();
  let edge = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const count = snap.nodes[i + at.edge_count];
    for (let e = edge; e < edge + count * eWidth; e += eWidth) {
      const to = snap.edges[e + eAt.to_node];
      if (groupOf(h, to) !== name || old?.has(snap.nodes[to + at.id])) continue;
      const type = edgeTypes[snap.edges[e + eAt.type]];
      if (type === 'weak') continue;
      const label = type === 'element' || type === 'hidden' ? `[${type}]` : `.${snap.strings[snap.edges[e + eAt.name_or_index]]}`;
      const key = `${groupOf(h, i)} ${label}`.slice(0, 100);
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    edge += count * eWidth;
  }
  return [...out.entries()].sort((p, q) => q[1] - p[1]);
}

/** Backing-store bytes of each collection held as `Owner.property` (summed over owners of one class). */
function collections(h) {
  const { snap, width, eWidth, edgeTypes, at, eAt } = h;
  const firstEdge = new Map();
  for (let i = 0, edge = 0; i < snap.nodes.length; i += width) {
    firstEdge.set(i, edge);
    edge += snap.nodes[i + at.edge_count] * eWidth;
  }
  const store = (i) => {
    let bytes = 0;
    const from = firstEdge.get(i);
    for (let e = from; e < from + snap.nodes[i + at.edge_count] * eWidth; e += eWidth) {
      const label = snap.strings[snap.edges[e + eAt.name_or_index]];
      if (edgeTypes[snap.edges[e + eAt.type]] === 'internal' && (label === 'table' || label === 'elements')) bytes += snap.nodes[snap.edges[e + eAt.to_node] + at.self_size];
    }
    return bytes;
  };
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const owner = groupOf(h, i);
    if (owner.startsWith('(') || owner.startsWith('system')) continue;
    const from = firstEdge.get(i);
    for (let e = from; e < from + snap.nodes[i + at.edge_count] * eWidth; e += eWidth) {
      if (edgeTypes[snap.edges[e + eAt.type]] !== 'property') continue;
      const to = snap.edges[e + eAt.to_node];
      const kind = groupOf(h, to);
      if (kind !== 'Map' && kind !== 'Set' && kind !== 'Array') continue;
      const key = `${owner}.${snap.strings[snap.edges[e + eAt.name_or_index]]} (${kind})`.slice(0, 90);
      out.set(key, (out.get(key) ?? 0) + store(to));
    }
  }
  return out;
}

const args = process.argv.slice(2);
const value = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const [a, b] = args.filter((x, i) => !x.startsWith('--') && !['--top', '--retainers'].includes(args[i - 1]));
const top = Number(value('--top') ?? 25);
if (!a || !b) {
  process.stderr.write('usage: node scripts/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25] [--new] [--retainers NAME]\n');
  process.exit(2);
}
const hb = load(a);
const before = summarise(hb);
const beforeCollections = args.includes('--collections') ? collections(hb) : undefined;
hb.snap = undefined;
const ha = load(b);
const old = args.includes('--new') ? before.ids : undefined;
const after = summarise(ha, old);
const mib = (n) => Math.round((n / 2 ** 20) * 10) / 10;
const name = value('--retainers');
if (beforeCollections) {
  const now = collections(ha);
  const rows = [...new Set([...beforeCollections.keys(), ...now.keys()])].map((k) => ({ collection: k, kibBefore: Math.round((beforeCollections.get(k) ?? 0) / 1024), kibAfter: Math.round((now.get(k) ?? 0) / 1024), growth: (now.get(k) ?? 0) - (beforeCollections.get(k) ?? 0) }));
  console.table(rows.sort((p, q) => q.growth - p.growth).slice(0, top).map(({ growth, ...r }) => ({ ...r, kibGrowth: Math.round(growth / 1024) })));
} else if (name) {
  process.stdout.write(`${args.includes('--new') ? 'new ' : ''}objects grouped as ${name}, held by:\n`);
  console.table(retainers(ha, name, old).slice(0, top).map(([holder, count]) => ({ holder, count })));
} else if (args.includes('--new')) {
  process.stdout.write(`allocated since BEFORE and alive in AFTER: ${mib(after.total)} MiB (AFTER's whole self size would be larger)\n`);
  const rows = [...after.groups.entries()].map(([k, g]) => ({ constructor: k, count: g.count, kib: Math.round(g.bytes / 1024) }));
  console.table(rows.sort((p, q) => q.kib - p.kib).slice(0, top));
} else {
  const keys = new Set([...before.groups.keys(), ...after.groups.keys()]);
  const rows = [...keys].map((k) => {
    const x = before.groups.get(k) ?? { count: 0, bytes: 0 };
    const y = after.groups.get(k) ?? { count: 0, bytes: 0 };
    return { constructor: k, countBefore: x.count, countAfter: y.count, kibBefore: Math.round(x.bytes / 1024), kibAfter: Math.round(y.bytes / 1024), kibGrowth: Math.round((y.bytes - x.bytes) / 1024) };
  });
  rows.sort((p, q) => Math.abs(q.kibGrowth) - Math.abs(p.kibGrowth));
  process.stdout.write(`self size: ${mib(before.total)} MiB -> ${mib(after.total)} MiB\n`);
  console.table(rows.slice(0, top));
}
