/** A blob read by position while it arrives: the root cuts and hashes a pulled-through blob as the registry sends it. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { newEd25519PrivateKey } from '../../../src/core/fresh-keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import type { PlannedTrack } from '../../../src/ingest/analysis.js';
import { ingestReader } from '../../../src/ingest/ingest-file.js';
import { hashOnlySink } from '../../../src/ingest/sinks.js';
import { BlobRelay } from '../../../src/registry/blob-relay.js';
import { relayReader } from '../../../src/registry/relay-reader.js';
import type { BlobStream } from '../../../src/registry/registry-client.js';
import { gatedBody } from '../../helpers/gated-body.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const privateKey = newEd25519PrivateKey();
const options = { name: 'blob', criteria: '*', origin: 'test', key: privateKey, blockSize: 64 * 1024, hashThreads: 0, createdAt: new Date(0) };

const planOf = (size: number, trailer: Buffer): PlannedTrack[] => [{ kind: 'header', offset: size, length: trailer.length }, { kind: 'data', offset: 0, length: size }];
/** Ingest options for a blob of `size` bytes followed by its trailer, analysed as the root plans it. */
const optionsFor = (size: number, trailer: Buffer) => ({ ...options, analysis: { analyser: 'generic' as const, mediaType: 'x', plan: planOf(size, trailer), warnings: [] } });
const memoryReader = (bytes: Buffer) => ({
  read: async (buffer: Buffer, offset: number, length: number, position: number) => ({ bytesRead: bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length)) }),
});

test('ingest over a blob still arriving: finishes only once it is whole and checked, with the blocks a file would give', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-relay-reader-'));
  try {
    const blob = randomBytes(700_000);
    const trailer = Buffer.from('{"index":"in memory"}');
    const { stream, step } = gatedBody([blob.subarray(0, 200_000), blob.subarray(200_000, 500_000), blob.subarray(500_000)], blob.length);
    const relay = new BlobRelay(path.join(dir, 'spool'), digestOf(blob), 'test', async () => stream);
    let settled = false;
    const ingest = ingestReader(relayReader(relay, blob.length, trailer), blob.length + trailer.length, hashOnlySink, optionsFor(blob.length, trailer)).finally(() => (settled = true));
    step();
    step();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'the ingest waits for the bytes not yet fetched');
    step();
    const got = await ingest;
    const fromFile = await ingestReader(memoryReader(Buffer.concat([blob, trailer])), blob.length + trailer.length, hashOnlySink, optionsFor(blob.length, trailer));
    assert.deepEqual(got.manifest.blocks, fromFile.manifest.blocks);
    assert.equal(got.contentId, fromFile.contentId);
    await relay.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ingest over a blob whose bytes are wrong fails with the digest mismatch, and signs nothing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-relay-reader-'));
  try {
    const blob = randomBytes(300_000);
    const wrong = Buffer.from(blob);
    wrong[299_999] = wrong[299_999]! ^ 1;
    const { stream, step } = gatedBody([wrong], blob.length);
    const relay = new BlobRelay(path.join(dir, 'spool'), digestOf(blob), 'test', async () => stream);
    const trailer = Buffer.from('{}');
    const ingest = ingestReader(relayReader(relay, blob.length, trailer), blob.length + trailer.length, hashOnlySink, optionsFor(blob.length, trailer));
    step();
    await assert.rejects(ingest, (err) => isCanopyError(err, 'ERR_OCI_DIGEST_MISMATCH'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('any positional read is the same bytes as the blob followed by its trailer', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-relay-reader-'));
  try {
    const blob = randomBytes(40_000);
    const trailer = randomBytes(300);
    const whole = Buffer.concat([blob, trailer]);
    const relay = new BlobRelay(path.join(dir, 'spool'), digestOf(blob), 'test', async () => gatedOpen(blob));
    await relay.finished;
    const reader = relayReader(relay, blob.length, trailer);
    await fc.assert(
      fc.asyncProperty(fc.nat(whole.length + 100), fc.nat(5000), async (position, length) => {
        const buffer = Buffer.alloc(length + 10);
        const { bytesRead } = await reader.read(buffer, 10, length, position);
        assert.deepEqual(buffer.subarray(10, 10 + bytesRead), whole.subarray(position, position + length));
      }),
      { numRuns: 500 },
    );
    await relay.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function gatedOpen(blob: Buffer): BlobStream {
  const g = gatedBody([blob.subarray(0, 10_000), blob.subarray(10_000)], blob.length);
  g.step();
  g.step();
  return g.stream;
}
