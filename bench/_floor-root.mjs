/**
 * The root of the distribute bench's floor (`npm run bench -- distribute --floor`,
 * bench/_distribute-floor.ts): the work Canopy's root does when a content is published and
 * spread, with nothing around it. It takes the content from the publisher over plain TCP (the
 * admin API's loopback HTTP in the Canopy run), hashes every block (the root checks each block
 * against the signed manifest), writes every byte once into one file (synced as it goes with
 * `syncEvery`, and once at the end: the content is durable when the publish returns), and
 * sends each block as it arrives, over TLS 1.3 AES-128-GCM, to the member it is designated to
 * (k % nodes), which relays it to the others (bench/_floor-member.mjs, the swarm floor's).
 *
 * One JSON config in argv[2]: {nodes, ip, port (members' TLS), uploadPort, size, blockSize,
 * out, cert, key, syncEvery?} (`syncEvery`: bench/_floor-common.mjs, fileWriter). Prints JSON
 * lines: {event:'listening'}, {event:'start', t} (every member said hello: the publisher may
 * start), {event:'done', tEnd, userSeconds, systemSeconds, maxRssMiB, hashes}.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout } from 'node:timers';
import tls from 'node:tls';
import { FILE_HIGH, fileWriter, STAGE, takeHello, TLS_OPTS } from './_floor-common.mjs';

const cfg = JSON.parse(process.argv[2]);
const { nodes: N, size, blockSize } = cfg;
const nBlocks = Math.ceil(size / blockSize);
const blockLen = (k) => Math.min(blockSize, size - k * blockSize);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (msg) => {
  process.stderr.write(`root: ${msg}\n`);
  process.exit(2);
};

const fd = fs.openSync(cfg.out, 'w+');
const members = new Array(N).fill(null);
let hellos = 0;
let cpu0;

const memberServer = tls.createServer({ ...TLS_OPTS, cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) }, (sock) => {
  sock.on('error', (e) => fail(`member socket: ${e.message}`));
  takeHello(sock, (idx) => {
    if (idx >= N || members[idx]) fail(`bad hello ${idx}`);
    members[idx] = sock;
    sock.on('drain', resume);
    sock.resume();
    if (++hellos === N) {
      cpu0 = process.cpuUsage();
      out({ event: 'start', t: Date.now() });
    }
  });
});

// ---- the upload: one publisher connection carrying the content's bytes in order ----
const hashes = [];
const st = { block: -1, remaining: 0, hash: null, stage: null, stagePos: 0, stagePosInFile: 0, received: 0 };
let upload;
let paused = false;
let ended = false;
const file = fileWriter(fd, {
  syncEvery: cfg.syncEvery,
  fail,
  written: () => {
    resume();
    checkDone();
  },
});

const backedUp = () => file.pending() > FILE_HIGH || members.some((m) => m.writableNeedDrain);

function resume() {
  if (paused && !backedUp()) {
    paused = false;
    upload.resume();
  }
}

function flushStage() {
  if (st.stagePos === 0) return;
  const seg = st.stage.subarray(0, st.stagePos);
  st.hash.update(seg);
  members[st.block % N].write(seg);
  file.write(seg, st.stagePosInFile);
}

function newStage() {
  st.stage = Buffer.allocUnsafeSlow(Math.min(STAGE, st.remaining));
  st.stagePos = 0;
  st.stagePosInFile = st.block * blockSize + blockLen(st.block) - st.remaining;
}

function startBlock() {
  st.block++;
  st.remaining = blockLen(st.block);
  st.hash = createHash('sha256');
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32BE(st.block, 0);
  hdr.writeUInt32BE(st.remaining, 4);
  members[st.block % N].write(hdr);
  newStage();
}

function onChunk(buf) {
  const n = buf.length;
  let p = 0;
  while (p < n) {
    if (st.remaining === 0) {
      if (st.block + 1 >= nBlocks) fail(`the upload is longer than ${size} bytes`);
      startBlock();
    }
    const t = Math.min(st.remaining, n - p, st.stage.length - st.stagePos);
    buf.copy(st.stage, st.stagePos, p, p + t);
    st.stagePos += t;
    st.remaining -= t;
    st.received += t;
    p += t;
    if (st.stagePos === st.stage.length) {
      flushStage();
      if (st.remaining > 0) newStage();
    }
    if (st.remaining === 0) {
      hashes.push(st.hash.digest('hex'));
      if (hashes.length === nBlocks) for (const m of members) m.end();
    }
  }
  if (!backedUp()) return;
  paused = true;
  upload.pause();
}

// Half-open: the root closes its side only once the content is durable, which is the publisher's answer.
const uploadServer = net.createServer({ allowHalfOpen: true }, (sock) => {
  if (upload) fail('a second upload');
  upload = sock;
  sock.on('data', onChunk);
  sock.on('error', (e) => fail(`upload socket: ${e.message}`));
  sock.on('end', () => {
    if (st.received !== size) fail(`the upload ended at ${st.received} of ${size} bytes`);
    ended = true;
    checkDone();
  });
});

let finished = false;
function checkDone() {
  if (finished || !ended || file.pending() !== 0 || hashes.length !== nBlocks) return;
  finished = true;
  fs.fdatasync(fd, (err) => {
    if (err) fail(`fdatasync: ${err.message}`);
    const cpu = process.cpuUsage(cpu0);
    fs.closeSync(fd);
    out({ event: 'done', tEnd: Date.now(), userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024, hashes });
    upload.end();
    // The members' close_notify and FIN go out before the process does.
    setTimeout(() => process.exit(0), 500);
  });
}

let listening = 0;
const onListening = () => ++listening === 2 && out({ event: 'listening' });
memberServer.listen(cfg.port, cfg.ip, onListening);
uploadServer.listen(cfg.uploadPort, cfg.ip, onListening);
