import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { applyTimeouts } from '../../../src/http/timeouts.js';
import { createWebServer } from '../../../src/http/web-server.js';

const SIZE = 16 * 2 ** 20;
const CHUNK = Buffer.alloc(64 * 1024, 7);
const IDLE_MS = 800;

/** Serves SIZE bytes with backpressure; counts answers the client never finished. */
let cut = 0;
const server: http.Server = createWebServer(false, { connectionsCheckingInterval: 100 }, (req, res) => {
  res.writeHead(200, { 'content-length': SIZE });
  let sent = 0;
  res.on('close', () => void (sent < SIZE || !res.writableFinished ? cut++ : undefined));
  const more = () => {
    while (sent < SIZE) {
      sent += CHUNK.length;
      if (!res.write(CHUNK)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
});
applyTimeouts(server, { idleMs: IDLE_MS, headersMs: 400, keepAliveMs: 300 });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as net.AddressInfo).port;
after(() => server.close());

function connect(): net.Socket {
  return net.connect(port, '127.0.0.1');
}

async function closedWithin(socket: net.Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  const timer = setTimeout(() => socket.destroy(new Error(`still open after ${ms} ms`)), ms);
  socket.resume();
  const [err] = (await Promise.race([once(socket, 'close'), once(socket, 'error')])) as [unknown];
  clearTimeout(timer);
  if (err instanceof Error && /still open/.test(err.message)) throw err;
  return Date.now() - t0;
}

describe('HTTP server timeouts (real sockets)', () => {
  it('closes a connection whose request headers never finish', async () => {
    const socket = connect();
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n'); // no blank line: the request never ends
    const ms = await closedWithin(socket, 5_000);
    assert.ok(ms < 3_000, `closed after ${ms} ms`);
  });

  it('cuts a reader that stops reading mid-download, once nothing has moved for the idle time', async () => {
    const before = cut;
    const socket = connect();
    socket.write('GET /big HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.pause(); // reads nothing: the server's writes stop completing
    await sleep(IDLE_MS / 2);
    assert.equal(socket.destroyed, false);
    const t0 = Date.now();
    while (cut === before && Date.now() - t0 < 5_000) await sleep(50);
    socket.destroy();
    assert.ok(cut > before, 'the server still holds the stalled answer after 5 s');
  });

  it('keeps a slow download that keeps moving, however much longer than the idle time it takes', async () => {
    const before = cut;
    const socket = connect();
    socket.write('GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    let got = 0;
    const t0 = Date.now();
    // Stops for 60 % of the idle time after every 2 MiB: the whole answer takes several idle
    // times, and the server's writes stall for most of one, but some always complete in time.
    let nextPause = 2 * 2 ** 20;
    socket.on('data', (c: Buffer) => {
      got += c.length;
      if (got < nextPause) return;
      nextPause += 2 * 2 ** 20;
      socket.pause();
      setTimeout(() => socket.resume(), IDLE_MS * 0.6);
    });
    await once(socket, 'end');
    const took = Date.now() - t0;
    assert.ok(got > SIZE, `got ${got} bytes`);
    assert.ok(took > IDLE_MS, `took ${took} ms: not slow enough to test anything`);
    assert.equal(cut, before);
  });
});
