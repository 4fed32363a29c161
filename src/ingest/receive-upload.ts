/**
 * The root's side of a signed publish: hash and store each uploaded block, then check the final manifest: well-formed, signed by the key it names, Merkle root and
 * content id consistent, signed by a key the root authorised, published for this root as
 * origin, and listing exactly the blocks received, in order. Only then is the content accepted.
 */
import { randomBytes } from 'node:crypto';
import { CanopyError } from '../core/errors.js';
import { contentIdOf, parseManifest, type Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';
import { sha256HexOf } from '../core/block-bytes.js';
import { storeSink, type StoreSink } from './sinks.js';
import { readFrames } from './upload-format.js';
import { framesFrom, isByteSource, type ByteSource } from './pushed-frames.js';

/**
 * Blocks being hashed and staged at once. Each upload block is staged (its bytes in a temp
 * file) and the next one read at once; its durability comes with its volume's next group
 * commit (store/group-commit.ts), all awaited before the manifest is accepted. Waiting for
 * each block to be durable, 4 at a time, held the root to one sync round per 4 blocks,
 * which bounds a publish wherever syncs are slow (on this project's loaded VM the CPU
 * bounded it first: notes/issue-15.md Session 6).
 */
const CONCURRENCY = 4;

/**
 * How long the blocks of an upload cut before its manifest (the client or the network went
 * away, the publisher's machine died) are kept for a retry, which then sends only what is
 * missing (`H` frames). After that, or at the store's next start (its scrub frees every
 * block no content uses), they go.
 */
export const CUT_UPLOAD_KEEP_MS = 3_600_000;

/** A publish body: chunks (any request stream), or bytes pushed from a reused buffer (the root's API, http/taken-body.ts). */
export type UploadBody = AsyncIterable<Buffer | Uint8Array> | ByteSource;

/** `authorise` judges the verified manifest (the root: is its publisher key authorised?); if it throws, nothing is kept. */
export async function receiveSignedUpload(body: UploadBody, store: BlockStore, origin: string, authorise: (manifest: Manifest) => void = () => undefined): Promise<{ contentId: string; manifest: Manifest; heldBlocks: number }> {
  const got: Received = { hashes: [], written: [], manifest: false };
  const inFlight = new Set<Promise<void>>();
  // Consecutive blocks of the upload go to different volumes.
  const sink = storeSink(store, `upload:${randomBytes(8).toString('hex')}`);
  try {
    return { ...(await receive(body, sink, origin, got, inFlight, authorise, store)), heldBlocks: got.hashes.length - got.written.length };
  } catch (err) {
    // Writes in flight first; then no partial state: what this upload stored and no content uses goes
    // (blocks it only named as held are not its own). Cut before its manifest, it is kept a while for a retry.
    await Promise.allSettled(inFlight);
    await sink.flush().catch(() => undefined);
    const written = got.written.filter((h) => h !== '');
    if (got.manifest) await store.discardUnreferenced(written).catch(() => undefined);
    else setTimeout(() => void store.discardUnreferenced(written).catch(() => undefined), CUT_UPLOAD_KEEP_MS).unref();
    throw err;
  }
}

/** What an upload brought: every block's hash in order, those whose bytes it sent, and whether its manifest arrived. */
interface Received {
  hashes: string[];
  written: string[];
  manifest: boolean;
}

async function receive(body: UploadBody, sink: StoreSink, origin: string, got: Received, inFlight: Set<Promise<void>>, authorise: (manifest: Manifest) => void, store: BlockStore): Promise<{ contentId: string; manifest: Manifest }> {
  const { hashes } = got;
  let failure: unknown;
  for await (const frame of isByteSource(body) ? framesFrom(body) : readFrames(body)) {
    if (frame.type === 'held') {
      // Named as held (the publisher asked first): the root must hold it now, or the publisher sends it on a retry.
      if (!store.has(frame.hash)) throw new CanopyError('ERR_PUBLISH_MISMATCH', `block ${hashes.length} (${frame.hash.slice(0, 12)}) was sent as held here, but this root does not hold it (freed since): publish again`);
      hashes.push(frame.hash);
      continue;
    }
    if (frame.type === 'block') {
      const i = hashes.push('') - 1;
      const hash = sha256HexOf(frame.data);
      hashes[i] = hash;
      got.written.push(hash);
      const p: Promise<void> = sink
        .put(frame.data, hash)
        .catch((err: unknown) => void (failure ??= err))
        .finally(() => {
          // The store is done with the bytes (written, or refused): the buffer is free.
          frame.lease.release();
          inFlight.delete(p);
        });
      inFlight.add(p);
      if (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
      continue;
    }
    got.manifest = true;
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    // Every block durable and indexed before the content can be accepted.
    await sink.flush();
    let value: unknown;
    try {
      value = JSON.parse(frame.data.toString('utf8'));
    } catch {
      throw new CanopyError('ERR_MANIFEST_INVALID', 'invalid manifest: not JSON');
    }
    const manifest = parseManifest(value);
    authorise(manifest);
    if (manifest.origin !== origin) throw new CanopyError('ERR_PUBLISH_MISMATCH', `the manifest names origin ${manifest.origin.slice(0, 16)}, but this root is ${origin}`);
    if (manifest.blocks.length !== hashes.length) throw new CanopyError('ERR_PUBLISH_MISMATCH', `the manifest lists ${manifest.blocks.length} blocks but ${hashes.length} were uploaded`);
    const bad = manifest.blocks.findIndex((b, i) => b.hash !== hashes[i]);
    if (bad >= 0) throw new CanopyError('ERR_PUBLISH_MISMATCH', `uploaded block ${bad} hashes to ${hashes[bad]!.slice(0, 12)}, the manifest says ${manifest.blocks[bad]!.hash.slice(0, 12)}`);
    return { contentId: contentIdOf(manifest), manifest };
  }
  throw new CanopyError('ERR_PUBLISH_MISMATCH', 'publish upload: no manifest');
}
