/**
 * A member of the swarm bench's floor (`--floor`, bench/_floor.ts): the work a Canopy member
 * does on the data path, with nothing around it (no protocol, no store, no tree, no
 * scheduler), so what Canopy's member costs above this is Canopy's own. TLS 1.3 AES-128-GCM
 * both ways, one SHA-256 over every received byte, one write of every byte into one file
 * (one fdatasync at the end), and relay to the peers in 256 KiB stages.
 *
 * Stripe topology: block k is designated to member k % nodes. This member gets its own
 * blocks from the origin and relays each stage to every peer that dialled it as soon as the
 * stage fills; it gets every other block from the member it is designated to.
 *
 * One JSON config in argv[2]: {index, nodes, ips (the members'), originIp, port, size,
 * blockSize, out, cert, key, syncEvery?} (`syncEvery`: bench/_floor-common.mjs, fileWriter).
 * Prints JSON lines: {event:'ready'} once the mesh is up, then {event:'done', tStart, tEnd,
 * userSeconds, systemSeconds, maxRssMiB, hashes, node}, with CPU counted from the mesh being
 * up (start-up is not the work).
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { setTimeout } from 'node:timers';
import tls from 'node:tls';
import { FILE_HIGH, fileWriter, STAGE, TLS_OPTS } from './_floor-common.mjs';

const cfg = JSON.parse(process.argv[2]);
const { index: me, nodes: N, size, blockSize } = cfg;
const nBlocks = Math.ceil(size / blockSize);
const blockLen = (k) => Math.min(blockSize, size - k * blockSize);
const blocksOf = (j) => Math.max(0, Math.ceil((nBlocks - j) / N));

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (msg) => {
  process.stderr.write(`member ${me}: ${msg}\n`);
  process.exit(2);
};

const fd = fs.openSync(cfg.out, 'w+');
fs.ftruncateSync(fd, size);

// ---- relay side: the peers dial us, and each accepted socket gets our designated blocks ----
const peersOut = [];
let blockedPeers = 0;
let relayDone = false;
let relayFinished = 0;

function onPeer(sock) {
  sock.on('error', (e) => {
    if (!relayDone) fail(`relay socket: ${e.message}`);
  });
  sock.on('drain', () => {
    if (!sock.blocked) return;
    sock.blocked = false;
    blockedPeers--;
    maybeResume();
  });
  sock.on('finish', () => {
    relayFinished++;
    checkDone();
  });
  // Peers never send; whatever arrives is drained.
  sock.resume();
  peersOut.push(sock);
  checkReady();
}
const server = tls.createServer({ ...TLS_OPTS, cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) }, onPeer);
server.on('error', (e) => fail(`server: ${e.message}`));
server.listen(cfg.port, cfg.ips[me]);

function relay(buf) {
  for (const s of peersOut) {
    if (!s.write(buf) && !s.blocked) {
      s.blocked = true;
      blockedPeers++;
    }
  }
}

// ---- receive side ----
// One reused read buffer for every dialled socket: each read is copied into a stage at once.
const readBuf = Buffer.allocUnsafe(65536);
const hashes = new Array(nBlocks).fill(null);
let blocksDone = 0;
const sources = [];

const file = fileWriter(fd, {
  syncEvery: cfg.syncEvery,
  fail,
  written: () => {
    if (file.pending() <= FILE_HIGH) maybeResume();
    checkDone();
  },
});

const wantPause = (st) => file.pending() > FILE_HIGH || (st.relay && blockedPeers > 0);

function maybeResume() {
  for (const st of sources) {
    if (st.paused && !wantPause(st)) {
      st.paused = false;
      st.sock.resume();
    }
  }
}

// A fresh stage each time: the relay sockets and the file write still hold the last one.
function newStage(st) {
  st.stageBuf = Buffer.allocUnsafeSlow(Math.min(STAGE, st.remaining));
  st.stagePos = 0;
  st.stageFilePos = st.block * blockSize + st.off;
}

function flushStage(st) {
  if (st.stagePos === 0) return;
  const seg = st.stageBuf.subarray(0, st.stagePos);
  st.hash.update(seg);
  if (st.relay) relay(seg);
  file.write(seg, st.stageFilePos);
}

function startBlock(st) {
  const k = st.hdr.readUInt32BE(0);
  const len = st.hdr.readUInt32BE(4);
  if (k >= nBlocks || len !== blockLen(k) || k % N !== st.from || hashes[k] !== null) fail(`bad header ${k}/${len} from ${st.name}`);
  st.block = k;
  st.remaining = len;
  st.off = 0;
  st.hash = createHash('sha256');
  if (st.relay) relay(Buffer.from(st.hdr));
  newStage(st);
}

function onChunk(st, buf, n) {
  let p = 0;
  while (p < n) {
    if (st.remaining === 0) {
      // An 8-byte header, [u32 block][u32 length], may arrive split across reads.
      const take = Math.min(8 - st.hdrHave, n - p);
      buf.copy(st.hdr, st.hdrHave, p, p + take);
      st.hdrHave += take;
      p += take;
      if (st.hdrHave < 8) break;
      st.hdrHave = 0;
      startBlock(st);
      continue;
    }
    const t = Math.min(st.remaining, n - p, st.stageBuf.length - st.stagePos);
    buf.copy(st.stageBuf, st.stagePos, p, p + t);
    st.stagePos += t;
    st.off += t;
    st.remaining -= t;
    p += t;
    if (st.stagePos === st.stageBuf.length) {
      flushStage(st);
      if (st.remaining > 0) newStage(st);
    }
    if (st.remaining === 0) finishBlock(st);
  }
  if (!wantPause(st)) return true;
  st.paused = true;
  return false;
}

function finishBlock(st) {
  hashes[st.block] = st.hash.digest('hex');
  st.blocks++;
  blocksDone++;
  if (st.relay && st.blocks === st.expected) {
    relayDone = true;
    for (const s of peersOut) s.end();
  }
  checkDone();
}

let dialled = 0;
/** Dials the origin (from -1: our own blocks, relayed) or member `from` (its blocks). */
function dial(from, ip) {
  const own = from === -1;
  const st = { from: own ? me : from, name: own ? 'origin' : `m${from}`, relay: own, hdr: Buffer.alloc(8), hdrHave: 0, block: -1, remaining: 0, off: 0, hash: null, blocks: 0, expected: blocksOf(own ? me : from), paused: false, ended: false, sock: null };
  const onread = { buffer: readBuf, callback: (n) => onChunk(st, readBuf, n) };
  const attempt = (tries) => {
    const sock = tls.connect({ host: ip, port: cfg.port, onread, ...TLS_OPTS, rejectUnauthorized: false });
    let up = false;
    sock.once('secureConnect', () => {
      up = true;
      st.sock = sock;
      sources.push(st);
      dialled++;
      checkReady();
    });
    sock.on('error', (e) => {
      // The peer may not listen yet: every member starts at once.
      if (!up && tries < 600 && (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET')) setTimeout(() => attempt(tries + 1), 50);
      else if (st.blocks !== st.expected) fail(`${st.name} socket: ${e.message}`);
    });
    sock.on('end', () => {
      st.ended = true;
      if (st.blocks !== st.expected) fail(`${st.name} ended after ${st.blocks}/${st.expected} blocks`);
    });
  };
  attempt(0);
}

let cpu0;
let t0;
let ready = false;
function checkReady() {
  if (ready || dialled !== N || peersOut.length !== N - 1) return;
  ready = true;
  cpu0 = process.cpuUsage();
  t0 = Date.now();
  const hello = Buffer.alloc(4);
  hello.writeUInt32BE(me);
  sources.find((s) => s.relay).sock.write(hello);
  out({ event: 'ready', index: me });
}

let finished = false;
function checkDone() {
  if (finished || blocksDone !== nBlocks || file.pending() !== 0 || relayFinished !== peersOut.length || !relayDone) return;
  finished = true;
  fs.fdatasync(fd, (err) => {
    if (err) fail(`fdatasync: ${err.message}`);
    const cpu = process.cpuUsage(cpu0);
    const tEnd = Date.now();
    fs.closeSync(fd);
    const maxRssMiB = process.resourceUsage().maxRSS / 1024;
    out({ event: 'done', index: me, tStart: t0, tEnd, userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6, maxRssMiB, hashes, node: process.version });
    // Let the sources' close_notify and FIN arrive so nobody sees a reset, then leave.
    const leave = () => process.exit(0);
    const waitEnds = () => (sources.every((s) => s.ended) ? leave() : setTimeout(waitEnds, 20));
    setTimeout(leave, 3000);
    waitEnds();
  });
}

server.once('listening', () => {
  dial(-1, cfg.originIp);
  for (let j = 0; j < N; j++) if (j !== me) dial(j, cfg.ips[j]);
});
