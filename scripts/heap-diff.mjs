#!/usr/bin/env node
/**
 * Compares two V8 heap snapshots of one process (issue 25, item 3): objects grouped by
 * constructor (the "Comparison" view of Chrome DevTools), with the count and self size in
 * each and the growth, largest first. Usage:
 *   node scripts/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]
 * The soak bench writes such pairs with --heap-snapshots DIR.
 */
import { readFileSync } from 'node:fs';

function summarise(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [T, N, S] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const width = fields.length;
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + T]];
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + N]] : `(${type})`;
    const key = `${type === 'closure' ? 'closure ' : ''}${name}`.slice(0, 80);
    const size = snap.nodes[i + S];
    total += size;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(key, g);
  }
  return { total, groups };
}

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
const topAt = process.argv.indexOf('--top');
const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 25;
if (!a || !b) {
  process.stderr.write('usage: node scripts/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]\n');
  process.exit(2);
}
const before = summarise(a);
const after = summarise(b);
const keys = new Set([...before.groups.keys(), ...after.groups.keys()]);
const rows = [...keys].map((k) => {
  const x = before.groups.get(k) ?? { count: 0, bytes: 0 };
  const y = after.groups.get(k) ?? { count: 0, bytes: 0 };
  return { constructor: k, countBefore: x.count, countAfter: y.count, kibBefore: Math.round(x.bytes / 1024), kibAfter: Math.round(y.bytes / 1024), kibGrowth: Math.round((y.bytes - x.bytes) / 1024) };
});
rows.sort((p, q) => Math.abs(q.kibGrowth) - Math.abs(p.kibGrowth));
const mib = (n) => Math.round((n / 2 ** 20) * 10) / 10;
process.stdout.write(`self size: ${mib(before.total)} MiB -> ${mib(after.total)} MiB\n`);
console.table(rows.slice(0, top));
