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
import { frameHeader, FRAME_MANIFEST } from '../../../src/ingest/upload-format.js';
import { BlockStore } from '../../../src/store/block-store.js';

const { privateKey } = generateKeyPairSync('ed25519');
const dir = mkdtempSync(path.join(tmpdir(), 'canopy-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ORIGIN = 'a'.repeat(64);

/** Publishes `file` as `canopy publish` does (blocks, then the signed manifest) into the root's receiver, in one process. */
async function upload(store: BlockStore, file: string, origin: string, authorise?: (m: Manifest) => void) {
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const received = receiveSignedUpload(body, store, ORIGIN, authorise);
  received.catch(() => body.resume());
  const result = await ingestFile(file, uploadSink(body), { name: 'x.bin', criteria: 'true', origin, key: privateKey, hashThreads: 0, blockSize: 64 * 1024 });
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
});
