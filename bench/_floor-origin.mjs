/**
 * The origin of the swarm bench's floor (`--floor`, bench/_floor.ts; its members are
 * bench/_floor-member.mjs): reads the content from its file and, once every member has said
 * hello ([u32 index]) on its TLS connection, sends each member its designated blocks
 * (k % nodes === index) as [u32 k][u32 length] + bytes, in 256 KiB writes with backpressure.
 * Nothing else: the floor's figures are the members', and the origin only has to keep up.
 *
 * One JSON config in argv[2]: {nodes, ip, port, file, size, blockSize, cert, key}. Prints JSON
 * lines: {event:'listening'}, {event:'start', t} (the mesh is up: the clock starts),
 * {event:'allSent', cpuSeconds}.
 */
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import fs from 'node:fs';
import tls from 'node:tls';
import { takeHello, TLS_OPTS } from './_floor-common.mjs';

const cfg = JSON.parse(process.argv[2]);
const { nodes: N, size, blockSize } = cfg;
const CHUNK = 256 * 1024;
// Read as it is sent, a fresh buffer per write (the socket holds it until written): memory
// stays flat whatever the content's size.
const file = await fs.promises.open(cfg.file, 'r');
const { size: fileSize } = await file.stat();
if (fileSize !== size) throw new Error(`content is ${fileSize} bytes, expected ${size}`);
const nBlocks = Math.ceil(size / blockSize);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const conns = new Array(N).fill(null);
let hellos = 0;

function onConn(sock) {
  sock.on('error', (e) => process.stderr.write(`origin: socket error ${e.message}\n`));
  takeHello(sock, (idx) => {
    if (idx >= N || conns[idx]) throw new Error(`bad hello ${idx}`);
    conns[idx] = sock;
    sock.resume();
    if (++hellos === N) start();
  });
}

function start() {
  const cpu0 = process.cpuUsage();
  out({ event: 'start', t: Date.now() });
  void Promise.all(conns.map((sock, i) => send(i, sock))).then(() => {
    const c = process.cpuUsage(cpu0);
    out({ event: 'allSent', cpuSeconds: (c.user + c.system) / 1e6 });
  });
}

async function send(i, sock) {
  for (let k = i; k < nBlocks; k += N) {
    const start = k * blockSize;
    const len = Math.min(blockSize, size - start);
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32BE(k, 0);
    hdr.writeUInt32BE(len, 4);
    sock.write(hdr);
    for (let off = 0; off < len; off += CHUNK) {
      const n = Math.min(CHUNK, len - off);
      const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(n), 0, n, start + off);
      if (bytesRead !== n) throw new Error(`content ended at ${start + off + bytesRead}, expected ${size} bytes`);
      if (!sock.write(buffer)) await once(sock, 'drain');
    }
  }
  sock.end();
}

const server = tls.createServer({ ...TLS_OPTS, cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) }, onConn);
server.listen(cfg.port, cfg.ip, () => out({ event: 'listening' }));
