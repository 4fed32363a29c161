/**
 * A node told to follow (the root relays the blob to another node) serves the blob from its
 * content once it learns it, with the edge's idle cut off while it waits; if the root later
 * answers with bytes instead (its relay failed, or the content could not be published), the
 * node relays those. A real HTTP server on loopback; the root is a scripted `ask`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { servePulled, type AskRoot, type ServeLocal } from '../../../src/edge/oci/pull-through-serve.js';

const bytes = Buffer.from('layer bytes from the root');
const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const q = { repository: 'team/app', reference: digest, blob: true };

async function serve(ask: AskRoot, local: (res: ServerResponse) => ServeLocal): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    // The edge's idle cut (http-edge.ts sets it on every socket).
    req.socket.setTimeout(120_000);
    void servePulled(ask, req, res, q, local(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

test('a follower serves the blob from its content once it learns it, without the idle cut meanwhile', async () => {
  let asks = 0;
  let looks = 0;
  const timeouts: (number | undefined)[] = [];
  let between: number | undefined;
  const ask: AskRoot = async () => (asks++, { answer: { status: 200, follow: true, digest, size: bytes.length, done: false }, payload: Buffer.alloc(0) });
  const { server, url } = await serve(ask, (res) => async () => {
    timeouts.push(res.socket?.timeout);
    await new Promise((resolve) => setImmediate(resolve));
    timeouts.push(res.socket?.timeout);
    // Sampled while the loop sleeps between looks: the idle cut is off then.
    if (++looks === 1) setTimeout(() => (between = res.socket?.timeout), 100);
    if (looks < 3) return false;
    res.writeHead(200, { 'content-length': 12 });
    res.end('from content');
    return true;
  });
  try {
    const r = await fetch(url);
    assert.equal(await r.text(), 'from content');
    assert.equal(asks, 1, 'asked the root once');
    assert.equal(looks, 3);
    // Each look runs with the idle cut on (serving from the content is ordinary reading); between looks it is off.
    assert.ok(timeouts.every((t) => t === 120_000), JSON.stringify(timeouts));
    assert.equal(between, 0, 'no idle cut while waiting between looks');
    const head = await fetch(url, { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers.get('docker-content-digest'), head.headers.get('content-length')], [200, digest, String(bytes.length)], 'HEAD is answered from what the root said');
  } finally {
    server.close();
  }
});

test('a follower whose content never comes relays the bytes the root sends when asked again', async () => {
  let asks = 0;
  const ask: AskRoot = async () => (asks++ === 0 ? { answer: { status: 200, follow: true, digest, size: bytes.length, done: false }, payload: Buffer.alloc(0) } : { answer: { status: 200, digest, size: bytes.length, done: true }, payload: bytes });
  const { server, url } = await serve(ask, () => async () => false);
  try {
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes));
    assert.equal(asks, 2, 'asked once, then once more after waiting');
  } finally {
    server.close();
  }
});
