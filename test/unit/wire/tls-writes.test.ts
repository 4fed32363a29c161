/**
 * Block-sized writes on a TLS socket go to TLS on their own, never in a batch that node:tls
 * would first copy into one fresh buffer (wire/tls-writes.ts); the bytes arrive the same.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import fc from 'fast-check';
import { BULK_FRAME_BYTES } from '../../../src/wire/peer-connection.js';
import { bulkRuns, keepBulkWritesApart } from '../../../src/wire/tls-writes.js';
import { TlsTransport, type TlsCredentials } from '../../../src/security/tls-transport.js';
import { createCaCertificate, generateKeyPair, issueNodeCertificate, newNodeId } from '../../../src/security/x509.js';

async function credentials(): Promise<[TlsCredentials, TlsCredentials]> {
  const ca = generateKeyPair();
  const caCertPem = await createCaCertificate(ca, 'tls writes');
  const issue = async (): Promise<TlsCredentials> => {
    const k = generateKeyPair();
    const cert = await issueNodeCertificate({ nodeId: newNodeId(), publicKeyPem: k.publicKeyPem, caCertPem, caKeyPem: ca.privateKeyPem });
    return { key: k.privateKeyPem, cert, ca: caCertPem };
  };
  return [await issue(), await issue()];
}

/** A connected pair over TlsTransport: `sender` dialled (a dialled socket reads through its own `onread`, so the accepted side receives). */
async function transportPair(): Promise<{ sender: Duplex; receiver: Duplex; close: () => Promise<void> }> {
  const [a, b] = await credentials();
  const server = new TlsTransport({ credentials: () => a, isRevoked: () => false });
  const client = new TlsTransport({ credentials: () => b, isRevoked: () => false });
  let accepted!: (s: Duplex) => void;
  const receiver = new Promise<Duplex>((r) => (accepted = r));
  const listener = await server.listen({ host: '127.0.0.1', port: 0 }, accepted);
  const sender = await client.connect({ host: '127.0.0.1', port: listener.port });
  return { sender, receiver: await receiver, close: () => listener.close() };
}

/** The same over bare node:tls, nothing changed: the behaviour the module works around. */
async function barePair(): Promise<{ sender: Duplex; receiver: Duplex; close: () => Promise<void> }> {
  const [a] = await credentials();
  const server = tls.createServer({ key: a.key, cert: a.cert });
  let accepted!: (s: Duplex) => void;
  const sender = new Promise<Duplex>((r) => (accepted = r));
  server.on('secureConnection', accepted);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const receiver = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await once(receiver, 'secureConnect');
  return { sender: await sender, receiver, close: () => new Promise((r) => server.close(() => r())) };
}

/** Writes `sizes` at once (all but the first wait behind it); returns the largest chunk TLS was given in a batch and whether every byte arrived in order. */
async function burst(pair: { sender: Duplex; receiver: Duplex }, sizes: number[]): Promise<{ largestBatched: number; intact: boolean; callbacks: number }> {
  const handle = (pair.sender as unknown as { _handle: { writev: (req: unknown, chunks: unknown[], all: boolean) => unknown } })._handle;
  const writev = handle.writev;
  let largestBatched = 0;
  handle.writev = function (this: unknown, req: unknown, chunks: unknown[], all: boolean) {
    for (const c of chunks) if (Buffer.isBuffer(c)) largestBatched = Math.max(largestBatched, c.length);
    return writev.call(this, req, chunks, all);
  };
  const chunks = sizes.map((n, k) => Buffer.alloc(n, k + 1));
  const expected = Buffer.concat(chunks);
  const got: Buffer[] = [];
  let received = 0;
  const done = new Promise<void>((resolve) =>
    pair.receiver.on('data', (d: Buffer) => {
      got.push(Buffer.from(d));
      received += d.length;
      if (received >= expected.length) resolve();
    }),
  );
  let callbacks = 0;
  for (const c of chunks) pair.sender.write(c, () => callbacks++);
  await done;
  while (callbacks < chunks.length) await new Promise((r) => setImmediate(r));
  return { largestBatched, intact: Buffer.concat(got).equals(expected), callbacks };
}

const SIZES = [10, 40, 300_000, 25, 70_000, 8, 200_000, 200_000, 3];

describe('TLS writes keep blocks apart', () => {
  it('cuts any batch into runs: each large chunk alone, the small ones between together, order kept', () => {
    const T = 1000;
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(T - 1), fc.integer({ min: T, max: 5 * T })), { maxLength: 30 }), (sizes) => {
        const chunks = sizes.map((n) => ({ chunk: Buffer.alloc(n), encoding: 'buffer' as BufferEncoding }));
        const runs = bulkRuns(chunks, T);
        assert.deepEqual(runs.flat().map((c) => c.chunk), chunks.map((c) => c.chunk));
        runs.forEach((run, i) => {
          assert.ok(run.length > 0 && run.allBuffers === true);
          if (run.some((c) => c.chunk.length >= T)) assert.equal(run.length, 1, 'a large chunk goes alone');
          else if (i > 0) assert.ok(runs[i - 1]!.some((c) => c.chunk.length >= T), 'small chunks between two large ones go together');
        });
      }),
      { numRuns: 300 },
    );
  });

  it('over a transport connection, a burst reaches TLS with no block in a batch and arrives whole', async () => {
    const pair = await transportPair();
    try {
      const r = await burst(pair, SIZES);
      assert.ok(r.intact, 'every byte, in order');
      assert.equal(r.callbacks, SIZES.length);
      assert.ok(r.largestBatched < BULK_FRAME_BYTES, `largest chunk in a batch: ${r.largestBatched}`);
    } finally {
      pair.sender.destroy();
      pair.receiver.destroy();
      await pair.close();
    }
  });

  it('bare node:tls batches a burst, blocks included (what the transport avoids)', async () => {
    const pair = await barePair();
    try {
      const r = await burst(pair, SIZES);
      assert.ok(r.intact);
      assert.ok(r.largestBatched >= 200_000, `largest chunk in a batch: ${r.largestBatched}`);
      // The same socket once changed: no block in a batch any more.
      keepBulkWritesApart(pair.sender, BULK_FRAME_BYTES);
      const after = await burst(pair, SIZES);
      assert.ok(after.intact);
      assert.ok(after.largestBatched < BULK_FRAME_BYTES, `after: largest chunk in a batch: ${after.largestBatched}`);
    } finally {
      pair.sender.destroy();
      pair.receiver.destroy();
      await pair.close();
    }
  });

  it('a socket destroyed in the middle of a cut batch still calls every write back', async () => {
    const pair = await transportPair();
    try {
      let called = 0;
      const sizes = [10, 300_000, 10, 300_000, 300_000];
      pair.sender.on('error', () => undefined);
      for (const n of sizes) pair.sender.write(Buffer.alloc(n), () => called++);
      await new Promise((r) => setImmediate(r));
      pair.sender.destroy();
      const t0 = Date.now();
      while (called < sizes.length && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      assert.equal(called, sizes.length);
    } finally {
      pair.receiver.destroy();
      await pair.close();
    }
  });
});
