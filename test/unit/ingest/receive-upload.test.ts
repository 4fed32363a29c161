import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import type { Manifest } from '../../../src/core/manifest.js';
import { ingestFile, ingestReader, type IngestResult } from '../../../src/ingest/ingest-file.js';
import type { BlockSink } from '../../../src/ingest/pipeline.js';
import type { PositionalReader } from '../../../src/ingest/cut-block.js';
import { applyTimeouts, type ServerTimeouts } from '../../../src/http/timeouts.js';
import { takeBodies, takenBodyOf } from '../../../src/http/taken-body.js';
import { receiveSignedUpload } from '../../../src/ingest/receive-upload.js';
import { uploadSink } from '../../../src/ingest/sinks.js';
import { frameHeader, FRAME_BLOCK, FRAME_MANIFEST, PUBLISH_MEDIA_TYPE } from '../../../src/ingest/upload-format.js';
import { heldProbe, MISSES_TO_STOP } from '../../../src/client/held-probe.js';
import { openUpload } from '../../../src/client/api-upload.js';
import { BlockStore } from '../../../src/store/block-store.js';

const privateKey = newEd25519PrivateKey();
const dir = mkdtempSync(path.join(tmpdir(), 'canopy-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ORIGIN = 'a'.repeat(64);

/**
 * Publishes `file` as `canopy publish` does (blocks from the pipeline's own buffers, then the
 * signed manifest) over loopback HTTP into the root's receiver. The receiver reads slowly, so
 * the client's socket queue fills: a block buffer handed back to the pipeline before it was
 * sent would be overwritten in the queue, and the root would see a block that does not match.
 */
/** The receiver's verdict of the latest upload(), for a test whose upload the root refuses part-way (upload() then throws). */
let lastReceived: Promise<unknown> | undefined;
/** Whether the server reads the body as the root's API does (taken after the headers into a reused buffer, http/taken-body.ts) or as a request stream. */
let takenBody = false;

async function upload(store: BlockStore, file: string, origin: string, authorise?: (m: Manifest) => void, held?: (hash: string) => Promise<boolean>, hashThreads = 0) {
  return uploadWith(store, authorise, (sink) => ingestFile(file, sink, { name: 'x.bin', criteria: 'true', origin, key: privateKey, hashThreads, blockSize: 64 * 1024 }), held);
}

/** upload() of what `ingest` reads, to a root whose server may cut a silent socket (`timeouts`) and with the sink's keepalive period. */
async function uploadWith(store: BlockStore, authorise: ((m: Manifest) => void) | undefined, ingest: (sink: BlockSink) => Promise<IngestResult>, held?: (hash: string) => Promise<boolean>, timeouts?: ServerTimeouts, keepAliveMs?: number) {
  const server = http.createServer();
  if (timeouts) applyTimeouts(server, timeouts);
  if (takenBody) takeBodies(server, () => true);
  const received = new Promise<Awaited<ReturnType<typeof receiveSignedUpload>>>((resolve, reject) => {
    server.once('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const body = takenBodyOf(req);
      assert.equal(body !== undefined, takenBody, 'the body is read the way the test asks');
      const r = receiveSignedUpload(body ?? slowly(req), store, ORIGIN, authorise);
      r.then(resolve, reject);
      r.then(() => res.end('{}'), () => res.writeHead(400).end('{}'));
    });
  });
  received.catch(() => undefined);
  lastReceived = received;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const { body, answer } = openUpload({ base: `http://127.0.0.1:${port}` }, '/', { 'content-type': PUBLISH_MEDIA_TYPE });
    answer.catch(() => undefined);
    const result = await ingest(uploadSink(body, held, undefined, keepAliveMs));
    const manifest = Buffer.from(JSON.stringify(result.manifest));
    body.end(Buffer.concat([frameHeader(FRAME_MANIFEST, manifest.length), manifest]));
    // The receiver's verdict is `received`; the HTTP answer may instead be a broken pipe when the receiver
    // refused (a block named held that it lacks) and the server stopped reading.
    await answer.catch(() => undefined);
    return { result, received };
  } finally {
    server.close();
  }
}

/** The request body, read with a pause now and then (a root busy elsewhere). */
async function* slowly(req: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of req) {
    if (++n % 8 === 0) await new Promise((r) => setTimeout(r, 2));
    yield chunk;
  }
}

describe('receiveSignedUpload (the root taking a publish)', () => {
  const volumes = ['v0', 'v1'].map((v) => path.join(dir, v));
  const store = new BlockStore(path.join(dir, 'data'), volumes.map((v) => ({ path: v })));
  const tempFiles = () => volumes.flatMap((v) => readdirSync(path.join(v, 'tmp')));

  for (const taken of [false, true]) {
    it(`has every block durable, indexed and whole when it accepts the manifest (body ${taken ? 'taken into a reused buffer' : 'read as a stream'})`, async () => {
      takenBody = taken;
      try {
        const file = path.join(dir, 'good.bin');
        writeFileSync(file, randomBytes(200 * 64 * 1024 + 123));
        // Checked at the moment the root judges the manifest, before it accepts anything.
        let indexedWhenJudged = 0;
        const { result, received } = await upload(store, file, ORIGIN, (m) => (indexedWhenJudged = m.blocks.filter((b) => store.has(b.hash)).length));
        const { contentId, manifest } = await received;
        assert.equal(contentId, result.contentId);
        assert.equal(manifest.blocks.length, 201);
        assert.equal(indexedWhenJudged, 201, 'every block durable and indexed before the manifest is judged');
        for (const b of manifest.blocks) assert.equal((await store.get(b.hash)).length, b.length);
        assert.deepEqual(tempFiles(), []);
      } finally {
        takenBody = false;
      }
    });
  }

  it('keeps nothing of an upload whose manifest it refuses', async () => {
    const file = path.join(dir, 'refused.bin');
    writeFileSync(file, randomBytes(24 * 64 * 1024));
    // Signed for another root: refused after every block has been staged.
    const { result, received } = await upload(store, file, 'b'.repeat(64));
    await assert.rejects(received, (err: unknown) => isCanopyError(err, 'ERR_PUBLISH_MISMATCH'));
    for (const b of result.manifest.blocks) assert.ok(!store.has(b.hash), `block ${b.hash.slice(0, 12)} was discarded`);
    assert.deepEqual(tempFiles(), []);
  });

  it('keeps the blocks of an upload cut before its manifest; the retry names them held and sends only the rest', async () => {
    const file = path.join(dir, 'cut.bin');
    const bytes = randomBytes(20 * 64 * 1024);
    writeFileSync(file, bytes);
    // The first 12 blocks arrive whole, then the connection is cut (the body errors, as a closed request does).
    const cut = receiveSignedUpload(
      (async function* () {
        for (let i = 0; i < 12; i++) yield Buffer.concat([frameHeader(FRAME_BLOCK, 64 * 1024), bytes.subarray(i * 65536, (i + 1) * 65536)]);
        yield frameHeader(FRAME_BLOCK, 64 * 1024);
        throw new Error('aborted');
      })(),
      store,
      ORIGIN,
    );
    await assert.rejects(cut, /aborted/);
    const asked: string[] = [];
    const { result, received } = await upload(store, file, ORIGIN, undefined, heldProbe(async (h) => (asked.push(h), store.has(h))));
    const { manifest, heldBlocks } = await received;
    assert.equal(heldBlocks, 12, 'the 12 whole blocks of the cut upload were named, not sent');
    assert.equal(asked.length, 12 + MISSES_TO_STOP, 'asked until 8 missing blocks in a row');
    assert.equal(manifest.blocks.length, 20);
    assert.equal(result.contentId, (await received).contentId);
    for (const b of manifest.blocks) assert.equal((await store.get(b.hash)).length, b.length);
  });

  it('keeps the blocks in cut order when the root is asked about each and answers late (hashes from worker threads)', async () => {
    const file = path.join(dir, 'slow-answers.bin');
    writeFileSync(file, randomBytes(30 * 64 * 1024));
    // Each answer comes after a random delay; the pipeline hashes several blocks at once.
    const { received } = await upload(store, file, ORIGIN, undefined, async (h) => (await new Promise((r) => setTimeout(r, Math.random() * 4)), store.has(h)), 2);
    const { manifest } = await received;
    assert.equal(manifest.blocks.length, 30);
  });

  it('refuses a block named held that it does not hold, with a coded error, and keeps nothing of that upload', async () => {
    const file = path.join(dir, 'lie.bin');
    const bytes = randomBytes(6 * 64 * 1024);
    writeFileSync(file, bytes);
    // The refusal may close the request before the client has written its last frame: then the publish fails too.
    await upload(store, file, ORIGIN, undefined, async () => true).catch(() => undefined);
    await assert.rejects(lastReceived!, (err: unknown) => isCanopyError(err, 'ERR_PUBLISH_MISMATCH') && /does not hold it/.test((err as Error).message));
    for (let i = 0; i < 6; i++) assert.ok(!store.has(createHash('sha256').update(bytes.subarray(i * 65536, (i + 1) * 65536)).digest('hex')));
  });

  it('keeps an upload alive with keepalive frames while the publisher reads a long, slow run of zeros (the root cuts a silent socket)', async () => {
    // A block, a run of zeros that takes ~0.7 s to read (a cold hole: no frame to send), a block;
    // the root cuts a socket on which nothing moved for 250 ms (its real idle timeout is 120 s).
    const B = 64 * 1024;
    const content = Buffer.concat([randomBytes(B), Buffer.alloc(16 * B), randomBytes(B)]);
    const reader: PositionalReader = {
      async read(buffer, offset, length, position) {
        if (position >= B && position < 17 * B) await new Promise((r) => setTimeout(r, 80));
        return { bytesRead: content.copy(buffer, offset, position, position + length) };
      },
    };
    const timeouts = { idleMs: 250, headersMs: 10_000, keepAliveMs: 5_000 };
    const publish = (keepAliveMs: number) => uploadWith(store, undefined, (sink) => ingestReader(reader, content.length, sink, { name: 'sparse.bin', criteria: 'true', origin: ORIGIN, key: privateKey, hashThreads: 0, blockSize: B }), undefined, timeouts, keepAliveMs);
    // Without keepalives inside the silence, the root cuts the upload: the case is real. The same with the body taken (the root's API).
    for (const taken of [false, true]) {
      takenBody = taken;
      try {
        await assert.rejects(publish(600_000).then((r) => r.received));
        const { result, received } = await publish(50);
        const { manifest } = await received;
        assert.equal(manifest.blocks.length, 2);
        assert.equal(manifest.holes.length, 1);
        assert.equal(result.contentId, (await received).contentId);
      } finally {
        takenBody = false;
      }
    }
  });

  it('fails the waiting puts, without hanging, when the root refuses before the body ended', async () => {
    const file = path.join(dir, 'early.bin');
    writeFileSync(file, randomBytes(200 * 64 * 1024));
    // A root that refuses once the first bytes arrived, and reads nothing more: the client's socket queue is full of blocks.
    const server = http.createServer((req, res) => {
      req.once('data', () => {
        req.pause();
        res.writeHead(403).end('{"error":{"code":"ERR_NOT_AUTHORISED","message":"no"}}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { body, answer } = openUpload({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, '/', { 'content-type': PUBLISH_MEDIA_TYPE });
      // As publishWith does: the answer stops the upload.
      void answer.then(() => body.destroy(), () => undefined);
      const ingest = ingestFile(file, uploadSink(body), { name: 'x.bin', criteria: 'true', origin: ORIGIN, key: privateKey, hashThreads: 0, blockSize: 64 * 1024 });
      // The refusal, or (when the server closed first and a write hit the closed socket) the transport error.
      const got = await answer.then((a) => a.statusCode, (err: NodeJS.ErrnoException) => err.code);
      assert.ok(got === 403 || got === 'EPIPE' || got === 'ECONNRESET', `answer: ${String(got)}`);
      await assert.rejects(ingest);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
