import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { isCanopyError } from '../../../src/core/errors.js';
import type { Manifest } from '../../../src/core/manifest.js';
import { ingestFile } from '../../../src/ingest/ingest-file.js';
import { receiveSignedUpload } from '../../../src/ingest/receive-upload.js';
import { uploadSink } from '../../../src/ingest/sinks.js';
import { frameHeader, FRAME_BLOCK, FRAME_MANIFEST } from '../../../src/ingest/upload-format.js';
import { heldProbe, MISSES_TO_STOP } from '../../../src/client/held-probe.js';
import { BlockStore } from '../../../src/store/block-store.js';

const { privateKey } = generateKeyPairSync('ed25519');
const dir = mkdtempSync(path.join(tmpdir(), 'canopy-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ORIGIN = 'a'.repeat(64);

/** Publishes `file` as `canopy publish` does (blocks, then the signed manifest) into the root's receiver, in one process. */
async function upload(store: BlockStore, file: string, origin: string, authorise?: (m: Manifest) => void, held?: (hash: string) => Promise<boolean>, hashThreads = 0) {
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const received = receiveSignedUpload(body, store, ORIGIN, authorise);
  received.catch(() => body.resume());
  const result = await ingestFile(file, uploadSink(body, held), { name: 'x.bin', criteria: 'true', origin, key: privateKey, hashThreads, blockSize: 64 * 1024 });
  const manifest = Buffer.from(JSON.stringify(result.manifest));
  body.end(Buffer.concat([frameHeader(FRAME_MANIFEST, manifest.length), manifest]));
  return { result, received };
}

describe('receiveSignedUpload (the root taking a publish)', () => {
  const volumes = ['v0', 'v1'].map((v) => path.join(dir, v));
  const store = new BlockStore(path.join(dir, 'data'), volumes.map((v) => ({ path: v })));
  const tempFiles = () => volumes.flatMap((v) => readdirSync(path.join(v, 'tmp')));

  it('has every block durable, indexed and whole when it accepts the manifest', async () => {
    const file = path.join(dir, 'good.bin');
    writeFileSync(file, randomBytes(40 * 64 * 1024 + 123));
    // Checked at the moment the root judges the manifest, before it accepts anything.
    let indexedWhenJudged = 0;
    const { result, received } = await upload(store, file, ORIGIN, (m) => (indexedWhenJudged = m.blocks.filter((b) => store.has(b.hash)).length));
    const { contentId, manifest } = await received;
    assert.equal(contentId, result.contentId);
    assert.equal(manifest.blocks.length, 41);
    assert.equal(indexedWhenJudged, 41, 'every block durable and indexed before the manifest is judged');
    for (const b of manifest.blocks) assert.equal((await store.get(b.hash)).length, b.length);
    assert.deepEqual(tempFiles(), []);
  });

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
    writeFileSync(file, randomBytes(6 * 64 * 1024));
    const { result, received } = await upload(store, file, ORIGIN, undefined, async () => true);
    await assert.rejects(received, (err: unknown) => isCanopyError(err, 'ERR_PUBLISH_MISMATCH') && /does not hold it/.test((err as Error).message));
    for (const b of result.manifest.blocks) assert.ok(!store.has(b.hash));
  });
});
