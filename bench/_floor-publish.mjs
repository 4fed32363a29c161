/**
 * The publisher of the distribute bench's floor (bench/_distribute-floor.ts): the work
 * `canopy publish` does, with nothing around it. It reads the file, hashes every block (the
 * manifest's hashes) and sends the bytes to the floor's root (bench/_floor-root.mjs) over
 * plain TCP, as the Canopy run's publisher does over the root's loopback HTTP API.
 *
 * One JSON config in argv[2]: {ip, uploadPort, file, size, blockSize}. Prints one JSON line,
 * {event:'published', t0, tEnd, userSeconds, systemSeconds, hashes}, with the clock and the
 * CPU counted from just before the first read.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';

const cfg = JSON.parse(process.argv[2]);
const { size, blockSize } = cfg;
const CHUNK = 256 * 1024;
const t0 = Date.now();
const cpu0 = process.cpuUsage();
const sock = net.connect({ host: cfg.ip, port: cfg.uploadPort });
await once(sock, 'connect');
// Read, so that the root's closing of its side (its answer) is seen.
sock.resume();
const file = await fs.promises.open(cfg.file, 'r');
const hashes = [];
for (let start = 0; start < size; start += blockSize) {
  const len = Math.min(blockSize, size - start);
  const hash = createHash('sha256');
  for (let off = 0; off < len; off += CHUNK) {
    const n = Math.min(CHUNK, len - off);
    // A fresh buffer per write: the socket holds it until it is sent.
    const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(n), 0, n, start + off);
    if (bytesRead !== n) throw new Error(`${cfg.file} ended at ${start + off + bytesRead}, expected ${size} bytes`);
    hash.update(buffer);
    if (!sock.write(buffer)) await once(sock, 'drain');
  }
  hashes.push(hash.digest('hex'));
}
await file.close();
sock.end();
// The root answers by closing its side once the content is durable there.
await once(sock, 'end');
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ event: 'published', t0, tEnd: Date.now(), userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6, hashes })}\n`);
