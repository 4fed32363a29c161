/**
 * Request bodies the server takes after the headers (src/http/taken-body.ts): over HTTP and
 * HTTPS, chunked and Content-Length, the body's bytes arrive whole and in order, through one
 * reused buffer (not a fresh buffer per read); other requests on the same server are read as
 * usual; malformed framing, a client gone mid-body and backpressure behave.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { takeBodies, takenBodyOf } from '../../../src/http/taken-body.js';
import { isCanopyError } from '../../../src/core/errors.js';
import { Authority } from '../../../src/security/authority.js';
import { initRoot } from '../../../src/security/credentials.js';
import { generateKeyPair } from '../../../src/security/x509.js';

interface Received {
  sha256: string;
  bytes: number;
  /** Distinct ArrayBuffers the pieces were views of. */
  buffers: number;
  pieces: number;
  error?: Error;
}

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-taken-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let key = '';
let cert = '';
let ca = '';
before(async () => {
  const root = await initRoot(path.join(dir, 'root'));
  const keys = generateKeyPair();
  cert = await new Authority(path.join(dir, 'root'), root).issueServer(root.nodeId, keys.publicKeyPem, ['localhost', '127.0.0.1']);
  key = keys.privateKeyPem;
  ca = root.caCertPem;
});

/** A server taking the bodies of POST /take; it answers with what it read (and, for others, with what 'data' gave). */
async function serve(secure: boolean, onTaken?: (body: NonNullable<ReturnType<typeof takenBodyOf>>, done: (r: Received) => void) => void) {
  const received: Received[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = takenBodyOf(req);
    const answer = (r: Received) => {
      received.push(r);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ taken: body !== undefined, ...r, error: r.error?.message }));
    };
    if (!body) {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (b: Buffer) => void (hash.update(b), (bytes += b.length)));
      req.on('end', () => answer({ sha256: hash.digest('hex'), bytes, buffers: 0, pieces: 0 }));
      return;
    }
    if (onTaken) return onTaken(body, answer);
    const hash = createHash('sha256');
    const buffers = new Set<ArrayBufferLike>();
    let bytes = 0;
    let pieces = 0;
    body.start(
      (b) => {
        hash.update(b);
        buffers.add(b.buffer);
        bytes += b.length;
        pieces++;
      },
      (error) => answer({ sha256: hash.digest('hex'), bytes, buffers: buffers.size, pieces, ...(error ? { error } : {}) }),
    );
  };
  const server = secure ? https.createServer({ key, cert }, listener) : http.createServer(listener);
  takeBodies(server, (req) => req.method === 'POST' && req.url === '/take');
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, received };
}

/** POSTs `body` in pieces of random sizes, chunked or with its length; returns the status, headers and parsed answer. */
async function post(secure: boolean, port: number, url: string, body: Buffer, chunked: boolean, headers: Record<string, string> = {}) {
  const options = { port, host: '127.0.0.1', method: 'POST', path: url, agent: false, ca, headers: { ...headers, ...(chunked ? {} : { 'content-length': String(body.length) }) } };
  const req = secure ? https.request(options) : http.request(options);
  const res = new Promise<{ status: number; connection: string | undefined; json: Record<string, unknown> }>((resolve, reject) => {
    req.on('response', (r) => {
      const parts: Buffer[] = [];
      r.on('data', (b: Buffer) => parts.push(b));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, connection: r.headers.connection, json: JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown> }));
    });
    req.on('error', reject);
  });
  for (let at = 0; at < body.length; ) {
    const n = Math.min(body.length - at, 1 + Math.floor(Math.random() * 200_000));
    if (!req.write(body.subarray(at, at + n))) await once(req, 'drain');
    at += n;
  }
  req.end();
  return res;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const secure of [false, true]) {
  describe(`taken request bodies over ${secure ? 'HTTPS' : 'HTTP'}`, () => {
    it('reads chunked and Content-Length bodies whole, through one reused buffer, and closes after the answer', async () => {
      const { server, port } = await serve(secure);
      try {
        const body = randomBytes(3 * 2 ** 20 + 123);
        for (const chunked of [true, false]) {
          const { status, connection, json } = await post(secure, port, '/take', body, chunked);
          assert.equal(status, 200);
          assert.equal(json.taken, true, 'the body was taken');
          assert.equal(json.sha256, sha(body));
          assert.equal(json.bytes, body.length);
          // The bytes of the head (read with the headers) may be in a buffer of their own; every later read is the reused one.
          assert.ok((json.buffers as number) <= 2 && (json.pieces as number) > 10, JSON.stringify(json));
          assert.equal(connection, 'close');
        }
      } finally {
        server.close();
      }
    });

    it('reads the requests it does not want as usual, on the same server', async () => {
      const { server, port } = await serve(secure);
      try {
        const body = randomBytes(300_000);
        for (const [url, headers] of [['/other', {}], ['/take', { expect: '100-continue' }]] as const) {
          const { json } = await post(secure, port, url, body, true, headers);
          assert.equal(json.taken, false, url);
          assert.equal(json.sha256, sha(body));
        }
      } finally {
        server.close();
      }
    });
  });
}

/** Sends raw bytes on a plain connection and returns what the server answered before closing. */
async function raw(port: number, ...parts: (string | Buffer)[]): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  socket.on('data', (b: Buffer) => got.push(b));
  for (const p of parts) socket.write(p);
  await once(socket, 'close');
  return Buffer.concat(got).toString('latin1');
}

describe('taken request bodies: framing, failures and backpressure', () => {
  const head = 'POST /take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';

  it('decodes chunk extensions and trailers, ignores what follows the body, and refuses a malformed chunk size', async () => {
    const { server, port, received } = await serve(false);
    try {
      const answer = await raw(port, head, '3;name=value\r\nabc\r\n', '2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(answer, /^HTTP\/1\.1 200/);
      assert.equal(received[0]!.sha256, sha(Buffer.from('abcde')));
      assert.equal((answer.match(/HTTP\/1\.1/g) ?? []).length, 1, 'a request after the taken body is not answered');
      await raw(port, head, 'zz\r\n');
      assert.ok(isCanopyError(received[1]!.error, 'ERR_HTTP_REQUEST'), String(received[1]!.error));
      // An upgrade a client asks for is declined (answered as a plain request), as by a server without an 'upgrade' listener.
      const upgrade = await raw(port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n');
      assert.match(upgrade, /^HTTP\/1\.1 200[^]*"taken":false/);
    } finally {
      server.close();
    }
  });

  it('reports a body cut by the client, and pauses and resumes reading', async () => {
    const { server, port, received } = await serve(false, (body, done) => {
      let bytes = 0;
      let pausedAt = -1;
      body.start(
        (b) => {
          bytes += b.length;
          if (pausedAt < 0) {
            pausedAt = bytes;
            body.pause();
            // Nothing more comes while paused; all of it after resume.
            setTimeout(() => {
              assert.equal(bytes, pausedAt);
              body.resume();
            }, 50);
          }
        },
        (error) => done({ sha256: '', bytes, buffers: 0, pieces: 0, ...(error ? { error } : {}) }),
      );
    });
    try {
      const socket = net.connect(port, '127.0.0.1');
      socket.write(`POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * 2 ** 20}\r\n\r\n`);
      socket.write(Buffer.alloc(2 ** 20));
      await new Promise((r) => setTimeout(r, 200));
      socket.destroy();
      while (received.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.equal(received[0]!.bytes, 2 ** 20);
      assert.equal(received[0]!.error?.message, 'aborted');
    } finally {
      server.close();
    }
  });

  it('closes taken connections with closeAllConnections', async () => {
    const { server, port } = await serve(false, () => undefined);
    const socket = net.connect(port, '127.0.0.1');
    socket.write(`POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc`);
    await new Promise((r) => setTimeout(r, 100));
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
    await once(socket, 'close');
  });
});
