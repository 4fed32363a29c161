// Child of bench/allocator.ts: allocates Buffers the way a busy node does (a FIFO of 64
// 1 MiB blocks as the block cache, 8 more in flight, 64 KiB socket chunks, small long-lived
// Buffers replaced at random) and prints its RSS at six points, its [heap] mapping and its
// minor page faults as JSON. Run with --expose-gc. Argument: steps (two 1 MiB Buffers each).
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';

const steps = Number(process.argv[2] ?? 3000);
const cache = [];
const inflight = [];
const small = new Array(4000).fill(null);
let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const rss = [];
for (let i = 0; i < steps; i++) {
  const block = Buffer.allocUnsafeSlow(1 << 20);
  block.fill(i & 255);
  cache.push(block);
  if (cache.length > 64) cache.shift();
  const moving = Buffer.allocUnsafeSlow(1 << 20);
  moving.fill(1);
  inflight.push(moving);
  if (inflight.length > 8) inflight.splice(Math.floor(rnd() * inflight.length), 1);
  for (let k = 0; k < 4; k++) Buffer.allocUnsafeSlow(65536).fill(2);
  for (let k = 0; k < 20; k++) small[Math.floor(rnd() * small.length)] = Buffer.allocUnsafeSlow(200 + Math.floor(rnd() * 8000)).fill(3);
  if (i % 32 === 0) globalThis.gc();
  if ((i + 1) % Math.ceil(steps / 6) === 0) rss.push(Math.round(rssMiB()));
}
const smaps = readFileSync('/proc/self/smaps', 'utf8');
const at = smaps.indexOf(' [heap]\n');
const mallocHeapMiB = at < 0 ? 0 : Math.round(Number(/Rss:\s+(\d+)/.exec(smaps.slice(at))[1]) / 1024);
const minorFaults = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
process.stdout.write(JSON.stringify({ rss, mallocHeapMiB, minorFaults, allocatedMiB: steps * 2 }));
