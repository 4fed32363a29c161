/**
 * Reading an HTTP origin by ranges (src/client/origins/http-origin.ts) against a loopback
 * HTTP server this test runs, whose misbehaviour it controls: a connection cut mid-range is
 * resumed from the byte it stopped at; a stalled answer is retried; an object that changes
 * (new ETag) fails with ERR_SOURCE_CHANGED, also when the server ignores If-Match; a 403 or
 * 404 fails at once and a 500 after retries with ERR_ORIGIN; positions past 4 GiB of a 5 GiB
 * object are read; a redirect is followed; a server
 * that ignores Range is refused. The bytes read are compared with the object's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { HttpOrigin } from '../../src/client/origins/http-origin.js';
import { isCanopyError } from '../../src/core/errors.js';

interface Behaviour {
  body: Buffer;
  etag: string;
  /** Cut the connection after this many bytes of the next ranged answer. */
  cutAfter?: number;
  /** Send nothing for the next ranged answer. */
  stall?: boolean;
  ignoreIfMatch?: boolean;
  ignoreRange?: boolean;
  status?: number;
}

/** A 5 GiB object made up on the fly (byte p is p mod 251): positions and lengths past 32 bits, nothing stored. */
const HUGE = 5 * 2 ** 30;
const hugeBytes = (start: number, length: number) => Buffer.from(Array.from({ length }, (_, i) => (start + i) % 251));

function serveHuge(req: http.IncomingMessage, res: http.ServerResponse): void {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!m) return void res.writeHead(416).end();
  const start = Number(m[1]);
  const end = Math.min(m[2] ? Number(m[2]) : HUGE - 1, HUGE - 1);
  res.writeHead(206, { etag: '"huge"', 'content-range': `bytes ${start}-${end}/${HUGE}`, 'content-length': end - start + 1 });
  // Made as the reader takes it (it stops after what it needs): never gigabytes in memory.
  const chunks = async function* () {
    for (let p = start; p <= end; p += 65_536) yield hugeBytes(p, Math.min(65_536, end + 1 - p));
  };
  pipeline(Readable.from(chunks()), res).catch(() => undefined);
}

describe('HTTP origin reads by ranges', () => {
  const b: Behaviour = { body: randomBytes(1_000_000), etag: '"v1"' };
  const requests: string[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    requests.push(`${req.url} ${req.headers.range ?? ''}`);
    if (req.url === '/moved') return void res.writeHead(302, { location: '/object' }).end();
    if (req.url === '/forbidden') return void res.writeHead(403).end('no');
    if (req.url === '/huge') return void serveHuge(req, res);
    if (b.status) return void res.writeHead(b.status).end('no');
    if (!b.ignoreIfMatch && req.headers['if-match'] && req.headers['if-match'] !== b.etag) return void res.writeHead(412).end();
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m || b.ignoreRange) return void res.writeHead(200, { etag: b.etag, 'content-length': b.body.length }).end(b.body);
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), b.body.length - 1) : b.body.length - 1;
    res.writeHead(206, { etag: b.etag, 'content-range': `bytes ${start}-${end}/${b.body.length}`, 'content-length': end - start + 1 });
    if (b.stall) {
      b.stall = false;
      return; // Headers, then nothing: the reader's stall timer must fire.
    }
    if (b.cutAfter !== undefined) {
      const n = b.cutAfter;
      b.cutAfter = undefined;
      res.write(b.body.subarray(start, start + n), () => res.destroy());
      return;
    }
    res.end(b.body.subarray(start, end + 1));
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const read = async (o: HttpOrigin, position: number, length: number) => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await o.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  };

  it('learns size and ETag, follows a redirect, reads ranges', async () => {
    const o = await HttpOrigin.open(`${base}/moved`);
    assert.equal(o.size, 1_000_000);
    assert.equal(o.version.etag, '"v1"');
    assert.deepEqual(await read(o, 999_000, 5000), b.body.subarray(999_000));
  });

  it('serves reads in sequence from one open range', async () => {
    const o = await HttpOrigin.open(`${base}/object`);
    requests.length = 0;
    const parts = await Promise.all([0, 1, 2, 3].map((i) => read(o, i * 250_000, 250_000)));
    assert.deepEqual(Buffer.concat(parts), b.body);
    assert.deepEqual(requests, ['/object bytes=0-']);
  });

  it('resumes a range cut mid-way from the byte it stopped at', async () => {
    const o = await HttpOrigin.open(`${base}/object`, { retries: 2 });
    requests.length = 0;
    b.cutAfter = 100_000;
    assert.deepEqual(await read(o, 10_000, 400_000), b.body.subarray(10_000, 410_000));
    assert.deepEqual(requests, ['/object bytes=10000-', '/object bytes=110000-']);
  });

  it('retries a stalled answer', async () => {
    const o = await HttpOrigin.open(`${base}/object`, { stallMs: 300, retries: 1 });
    b.stall = true;
    assert.deepEqual(await read(o, 0, 1000), b.body.subarray(0, 1000));
  });

  it('fails with ERR_SOURCE_CHANGED when the object changes, with or without If-Match', async () => {
    const o = await HttpOrigin.open(`${base}/object`);
    b.etag = '"v2"';
    await assert.rejects(read(o, 0, 10), (e) => isCanopyError(e, 'ERR_SOURCE_CHANGED'));
    b.ignoreIfMatch = true;
    await assert.rejects(read(o, 0, 10), (e) => isCanopyError(e, 'ERR_SOURCE_CHANGED') && /became .*"v2"/.test(e.message));
    b.ignoreIfMatch = false;
  });

  it('reads past 4 GiB of a 5 GiB object by position', async () => {
    const o = await HttpOrigin.open(`${base}/huge`, { retries: 0 });
    assert.equal(o.size, HUGE);
    requests.length = 0;
    const at = HUGE - 100_000;
    assert.deepEqual(await read(o, at, 100_000), hugeBytes(at, 100_000));
    assert.deepEqual(await read(o, 2 ** 32 + 5, 10), hugeBytes(2 ** 32 + 5, 10));
    assert.deepEqual(requests, [`/huge bytes=${at}-`, `/huge bytes=${2 ** 32 + 5}-`]);
    o.close();
  });

  it('403 and 404 fail at once, 500 after retries, a server without ranges is refused', async () => {
    requests.length = 0;
    await assert.rejects(HttpOrigin.open(`${base}/forbidden`, { retries: 2 }), (e) => isCanopyError(e, 'ERR_ORIGIN') && /403/.test(e.message));
    assert.equal(requests.length, 1);
    b.status = 404;
    requests.length = 0;
    await assert.rejects(HttpOrigin.open(`${base}/object`, { retries: 2 }), (e) => isCanopyError(e, 'ERR_ORIGIN') && /404/.test(e.message));
    assert.equal(requests.length, 1);
    b.status = 500;
    requests.length = 0;
    await assert.rejects(HttpOrigin.open(`${base}/object`, { retries: 1 }), (e) => isCanopyError(e, 'ERR_ORIGIN') && /500/.test(e.message));
    assert.equal(requests.length, 2);
    b.status = undefined;
    b.ignoreRange = true;
    await assert.rejects(HttpOrigin.open(`${base}/object`), (e) => isCanopyError(e, 'ERR_ORIGIN') && /byte ranges/.test(e.message));
    b.ignoreRange = false;
  });
});
