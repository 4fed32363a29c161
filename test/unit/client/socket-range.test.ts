/**
 * A range read on a socket of its own (src/client/origins/socket-range.ts) against a raw
 * loopback server that controls every byte: a head split across reads, a body read by a
 * slow reader (bytes equal, and the socket is paused while nobody reads: the server cannot
 * flush a body larger than the kernel's buffers), answers that are not the plain 206 left
 * to undici (undefined), a cut body failing the read, a silent server timing out.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { openSocketRange } from '../../../src/client/origins/socket-range.js';

/** 32 MiB: more than loopback's socket buffers hold on both sides. */
const BIG = 32 * 2 ** 20;
const big = Buffer.alloc(BIG);
for (let i = 0; i < BIG; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type Reply = (socket: net.Socket) => void;

describe('range reads on a socket of their own', () => {
  let reply: Reply = () => undefined;
  let port = 0;
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    socket.once('data', (d) => {
      requests.push(d.toString('latin1'));
      reply(socket);
    });
    socket.on('error', () => undefined);
  });
  before(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => {
    port = (server.address() as AddressInfo).port;
    resolve();
  })));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = () => new URL(`http://127.0.0.1:${port}/object?x=1`);

  it('reads a body whose head comes byte by byte, slowly, pausing the socket while nobody reads', async () => {
    let flushed = false;
    reply = (socket) => {
      const head = `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-${BIG - 1}/${BIG}\r\nETag: "a"\r\nContent-Length: ${BIG}\r\n\r\n`;
      void (async () => {
        for (const ch of head) {
          socket.write(ch);
          await sleep(1);
        }
        socket.write(big, () => (flushed = true));
      })();
    };
    const answer = await openSocketRange(url(), { range: 'bytes=0-', 'if-match': '"a"' }, 5_000);
    assert.ok(answer);
    assert.equal(answer.headers['etag'], '"a"');
    assert.equal(answer.headers['content-range'], `bytes 0-${BIG - 1}/${BIG}`);
    assert.match(requests.at(-1)!, /^GET \/object\?x=1 HTTP\/1\.1\r\n/);
    assert.match(requests.at(-1)!, /\r\nrange: bytes=0-\r\n/);
    const out = Buffer.alloc(BIG);
    let got = await answer.body.read(out, 0, 1000);
    // Nobody reads for a while: a paused socket leaves most of the body unsent (unpaused, it
    // was all taken within ~1 s at load 15).
    for (let t = 0; t < 1500 && !flushed; t += 50) await sleep(50);
    assert.equal(flushed, false, 'the whole body was taken while nobody read: the socket was not paused');
    for (;;) {
      const n = await answer.body.read(out, got, Math.min(100_000, BIG - got));
      if (n === 0) break;
      got += n;
    }
    assert.equal(got, BIG);
    assert.equal(sha(out), sha(big));
    assert.equal(await answer.body.read(out, 0, 10), 0);
  });

  it('leaves anything but a plain 206 with a length to undici', async () => {
    const heads = [
      'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n',
      'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\n\r\n0123456789',
      'HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789',
    ];
    for (const head of heads) {
      reply = (socket) => socket.end(head);
      assert.equal(await openSocketRange(url(), { range: 'bytes=0-' }, 5_000), undefined, head.split('\r\n')[0]);
    }
    assert.equal(await openSocketRange(new URL(`http://u:p@127.0.0.1:${port}/x`), {}, 5_000), undefined);
    // A target given as signed is sent as it is, never normalised (an S3 key may hold `..`).
    await openSocketRange(url(), {}, 5_000, '/bucket/a/../b%2e%2e?x-id=GetObject');
    assert.match(requests.at(-1)!, /^GET \/bucket\/a\/\.\.\/b%2e%2e\?x-id=GetObject HTTP\/1\.1\r\n/);
  });

  it('fails a read when the body is cut, and an answer that does not come', async () => {
    reply = (socket) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\n`);
      socket.write(big.subarray(0, 400), () => socket.destroy());
    };
    const answer = await openSocketRange(url(), { range: 'bytes=0-' }, 5_000);
    assert.ok(answer);
    const out = Buffer.alloc(1000);
    let got = 0;
    await assert.rejects(async () => {
      for (;;) got += await answer.body.read(out, got, 1000 - got);
    });
    assert.equal(got, 400);
    assert.ok(out.subarray(0, 400).equals(big.subarray(0, 400)));

    // A read waiting when the range is closed fails (it does not hang).
    reply = (socket) => socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\n`);
    const open = await openSocketRange(url(), { range: 'bytes=0-' }, 5_000);
    const waiting = open!.body.read(out, 0, 1000);
    open!.body.destroy();
    await assert.rejects(Promise.race([waiting, sleep(2_000).then(() => 'still waiting')]), /closed/);

    reply = () => undefined;
    await assert.rejects(openSocketRange(url(), { range: 'bytes=0-' }, 200), /no answer in 0.2 s/);
    await assert.rejects(openSocketRange(new URL('http://127.0.0.1:1/x'), {}, 5_000), /ECONNREFUSED/);
  });
});
