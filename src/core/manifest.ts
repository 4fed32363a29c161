/**
 * The manifest (version 2) describes one content: its tracks (runs of substantive bytes),
 * its holes (runs of zeros that are not stored), its blocks (each named by SHA-256), the
 * block size and why it was chosen, a Merkle root over the block hashes, its policy, and
 * the publisher's Ed25519 signature. The content id is the SHA-256 of the canonical JSON
 * of every field but `signature`; the signature covers exactly those bytes.
 * docs/PROTOCOL.md documents every field; this parser is the strict reading of it.
 */
import { CanopyError } from './errors.js';
import { isHashHex, sha256Hex } from './hash.js';
import { formatCriteria, parseCriteria } from './criteria.js';
import { isValidPlacement } from './placement.js';
import { merkleRoot } from './merkle.js';
import { checkManifestSignature, isPublicKeyText, isSignatureText } from './manifest-signature.js';
import { ANALYSERS, manifestBytes, MANIFEST_FORMAT, MANIFEST_VERSION, MAX_BLOCKS, MAX_BLOCK_SIZE, MAX_HOLES, MAX_TRACKS, TRACK_KINDS, type BlockRef, type Hole, type Manifest, type Track, type UnsignedManifest } from './manifest-format.js';

// The shape and its canonical bytes live in manifest-format.ts (so the signature code needs
// no parser); every name is re-exported here, where callers have always found it.
export * from './manifest-format.js';

const FIELDS = ['format', 'version', 'name', 'size', 'mediaType', 'analyser', 'linear', 'media', 'blockSize', 'blockSizeReason', 'tracks', 'holes', 'blocks', 'merkleRoot', 'criteria', 'placement', 'origin', 'createdAt', 'publisher', 'signature', 'expires', 'chunking', 'prefetch'];

export function contentIdOf(manifest: UnsignedManifest): string {
  return sha256Hex(manifestBytes(manifest));
}

/** Bytes actually stored: the sum of the block lengths (holes excluded). */
export function storedBytes(manifest: UnsignedManifest): number {
  return manifest.tracks.reduce((sum, t) => sum + t.length, 0);
}

const NAME = /^[^\0/\\]{1,255}$/;

export function isValidContentName(name: string): boolean {
  return NAME.test(name) && name !== '.' && name !== '..';
}

function invalid(why: string): CanopyError {
  return new CanopyError('ERR_MANIFEST_INVALID', `invalid manifest: ${why}`);
}

/** Shows an untrusted value in a message; never throws (String() would on hostile objects). */
function show(v: unknown): string {
  try {
    return (JSON.stringify(v) ?? typeof v).slice(0, 40);
  } catch {
    return typeof v;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, keys: readonly string[], what: string): void {
  const extra = Object.keys(v).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw invalid(`${what}: unknown fields ${extra.slice(0, 5).join(', ')}`);
}

function checkHeader(m: Record<string, unknown>): void {
  if (m.format !== MANIFEST_FORMAT) throw invalid(`format must be "${MANIFEST_FORMAT}"`);
  if (m.version !== MANIFEST_VERSION) throw invalid(`unsupported version ${show(m.version)}`);
  onlyKeys(m, FIELDS, 'manifest');
  if (typeof m.name !== 'string' || !isValidContentName(m.name)) throw invalid('name must be 1-255 characters without / \\ or NUL');
  if (!isCount(m.size)) throw invalid('size must be a non-negative integer');
  if (typeof m.mediaType !== 'string' || m.mediaType.length > 127 || !/^[\w.+-]+\/[\w.+-]+$/.test(m.mediaType)) throw invalid('mediaType must be type/subtype');
  if (!(ANALYSERS as readonly unknown[]).includes(m.analyser)) throw invalid(`analyser must be one of ${ANALYSERS.join(', ')}`);
  if (typeof m.linear !== 'boolean') throw invalid('linear must be a boolean');
  if (m.media !== undefined) {
    if (!isRecord(m.media) || !isCount(m.media.durationMs) || !isCount(m.media.bitrate)) throw invalid('media must be {durationMs, bitrate} integers');
    onlyKeys(m.media, ['durationMs', 'bitrate'], 'media');
  }
  if (!isCount(m.blockSize) || m.blockSize === 0 || m.blockSize > MAX_BLOCK_SIZE) throw invalid(`blockSize must be in 1..${MAX_BLOCK_SIZE}`);
  if (typeof m.blockSizeReason !== 'string' || m.blockSizeReason.length === 0 || m.blockSizeReason.length > 200) throw invalid('blockSizeReason must be a string of 1..200 characters');
  if (typeof m.criteria !== 'string') throw invalid('criteria must be a string');
  try {
    if (formatCriteria(parseCriteria(m.criteria)) !== m.criteria) throw invalid('criteria is not in canonical form');
  } catch (err) {
    throw invalid(`criteria: ${(err as Error).message}`);
  }
  if (!isValidPlacement(m.placement)) throw invalid('placement must be full, on-demand or prefix:<1..100>');
  if (typeof m.origin !== 'string' || m.origin.length === 0 || m.origin.length > 128) throw invalid('origin must be a node id');
  if (typeof m.createdAt !== 'string' || m.createdAt.length > 40 || Number.isNaN(Date.parse(m.createdAt))) throw invalid('createdAt must be an ISO date');
  if (!isHashHex(m.merkleRoot)) throw invalid('merkleRoot must be 64 lowercase hex digits');
  if (!isPublicKeyText(m.publisher)) throw invalid('publisher must be an Ed25519 public key (32 bytes, base64url)');
  if (!isSignatureText(m.signature)) throw invalid('signature must be an Ed25519 signature (64 bytes, base64url)');
  if (m.expires !== undefined && (typeof m.expires !== 'string' || m.expires.length > 40 || Number.isNaN(Date.parse(m.expires)))) throw invalid('expires must be an ISO date');
  if (m.chunking !== undefined) checkChunking(m.chunking, m.blockSize as number);
  if (m.prefetch !== undefined) checkPrefetch(m.prefetch);
}

/** Tracks and holes, merged by offset, must tile [0, size) with no gap, overlap or two adjacent holes. */
function checkLayout(m: Record<string, unknown>): { tracks: Track[]; holes: Hole[] } {
  if (!Array.isArray(m.tracks) || m.tracks.length > MAX_TRACKS) throw invalid(`tracks must be an array of at most ${MAX_TRACKS}`);
  if (!Array.isArray(m.holes) || m.holes.length > MAX_HOLES) throw invalid(`holes must be an array of at most ${MAX_HOLES}`);
  const tracks = (m.tracks as unknown[]).map((t, i): Track => {
    if (!isRecord(t)) throw invalid(`track ${i} is not an object`);
    onlyKeys(t, ['order', 'kind', 'offset', 'length'], `track ${i}`);
    if (t.order !== i) throw invalid(`track ${i} must have order ${i} (tracks are listed in order)`);
    if (!(TRACK_KINDS as readonly unknown[]).includes(t.kind)) throw invalid(`track ${i} kind must be one of ${TRACK_KINDS.join(', ')}`);
    if (!isCount(t.offset) || !isCount(t.length) || t.length === 0) throw invalid(`track ${i} needs an integer offset and a positive length`);
    return t as unknown as Track;
  });
  let previousEnd = -1;
  const holes = (m.holes as unknown[]).map((h, i): Hole => {
    if (!isRecord(h)) throw invalid(`hole ${i} is not an object`);
    onlyKeys(h, ['offset', 'length'], `hole ${i}`);
    if (!isCount(h.offset) || !isCount(h.length) || h.length === 0) throw invalid(`hole ${i} needs an integer offset and a positive length`);
    if (h.offset <= previousEnd) throw invalid(`hole ${i} is out of order or adjacent to the previous hole`);
    previousEnd = h.offset + h.length;
    return h as unknown as Hole;
  });
  const extents = [...tracks.map((t) => ({ ...t, what: `track ${t.order}` })), ...holes.map((h, i) => ({ ...h, what: `hole ${i}` }))].sort((a, b) => a.offset - b.offset);
  let at = 0;
  for (const e of extents) {
    if (e.offset !== at) throw invalid(`${e.what} starts at ${e.offset}, expected ${at} (tracks and holes must tile the content)`);
    at += e.length;
  }
  if (at !== m.size) throw invalid(`tracks and holes cover ${at} bytes but size is ${show(m.size)}`);
  return { tracks, holes };
}

/**
 * Blocks, track by track in order, must tile each track. With fixed cuts (the default), all
 * but a track's last are exactly blockSize; a variable cutter (content-defined chunking)
 * passes `fixedCuts = false` and each block may be 1..blockSize long.
 */
export function checkBlocks(m: Record<string, unknown>, tracks: readonly Track[], blockSize: number, fixedCuts = true): BlockRef[] {
  if (!Array.isArray(m.blocks) || m.blocks.length > MAX_BLOCKS) throw invalid(`blocks must be an array of at most ${MAX_BLOCKS}`);
  const list = m.blocks as unknown[];
  const blocks: BlockRef[] = [];
  let k = 0;
  for (const track of tracks) {
    let offset = track.offset;
    const end = track.offset + track.length;
    for (let index = 0; offset < end; index++, k++) {
      const b = list[k];
      if (!isRecord(b)) throw invalid(`block ${k} is missing or not an object`);
      onlyKeys(b, ['track', 'index', 'offset', 'length', 'hash'], `block ${k}`);
      const most = Math.min(blockSize, end - offset);
      const length = fixedCuts ? most : b.length;
      if (b.track !== track.order || b.index !== index) throw invalid(`block ${k} must be block ${index} of track ${track.order}`);
      if (!isCount(length) || length === 0 || length > most || b.offset !== offset || b.length !== length) throw invalid(`block ${k} must start at ${offset} and be ${fixedCuts ? most : `1..${most}`} bytes, not ${show(b.offset)}+${show(b.length)}`);
      if (!isHashHex(b.hash)) throw invalid(`block ${k} hash must be 64 lowercase hex digits`);
      blocks.push(b as unknown as BlockRef);
      offset += length;
    }
  }
  if (k !== list.length) throw invalid(`${list.length - k} blocks lie outside every track`);
  return blocks;
}

/**
 * Checks an untrusted value field by field and returns it as a Manifest: the layout, every
 * block's place, the Merkle root, the content id (when given) and the publisher signature.
 * Anything else fails with ERR_MANIFEST_INVALID, naming what was wrong.
 */
export function parseManifest(value: unknown, expectedId?: string): Manifest {
  if (!isRecord(value)) throw invalid('not an object');
  checkHeader(value);
  const { tracks } = checkLayout(value);
  // Content-defined chunking cuts blocks of any length up to blockSize.
  const fixedCuts = !(isRecord(value.chunking) && value.chunking.method === 'fastcdc');
  const blocks = checkBlocks(value, tracks, value.blockSize as number, fixedCuts);
  if (merkleRoot(blocks.map((b) => b.hash)) !== value.merkleRoot) throw invalid('merkleRoot does not match the block hashes');
  const linear = tracks.length <= 1 && (tracks.length === 0 || tracks[0]!.offset === 0) && (value.holes as unknown[]).length === 0;
  if (value.linear !== linear) throw invalid(`linear must be ${linear} for this layout`);
  const manifest = value as unknown as Manifest;
  if (expectedId !== undefined && contentIdOf(manifest) !== expectedId) throw invalid(`content id does not match: expected ${expectedId}`);
  if (!checkManifestSignature(manifest)) throw invalid('publisher signature does not verify');
  return manifest;
}

function checkChunking(value: unknown, blockSize: number): void {
  const c = value as Record<string, unknown> | null;
  if (typeof c !== 'object' || c === null) throw invalid('chunking must be an object');
  if (c.method === 'fixed' && Object.keys(c).length === 1) return;
  if (c.method !== 'fastcdc') throw invalid('chunking.method must be "fixed" or "fastcdc"');
  if (Object.keys(c).length !== 4 || !isCount(c.min) || !isCount(c.avg) || !isCount(c.max)) throw invalid('chunking needs integer min, avg, max');
  if (!(c.min <= c.avg && c.avg <= c.max && c.max === blockSize)) throw invalid('chunking needs min <= avg <= max = blockSize');
}

/** Whether a content is past its `expires` time at `now` (ms since the epoch). */
export function isExpired(manifest: Manifest, now: number = Date.now()): boolean {
  return manifest.expires !== undefined && Date.parse(manifest.expires) <= now;
}

const WINDOW = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/;

function checkPrefetch(value: unknown): void {
  const p = value as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid('prefetch must be an object');
  if (Object.keys(p).some((k) => k !== 'window' && k !== 'rate')) throw invalid('prefetch takes only window and rate');
  if (p.window !== undefined && (typeof p.window !== 'string' || !WINDOW.test(p.window) || p.window.slice(0, 5) === p.window.slice(6))) throw invalid('prefetch.window must be HH:MM-HH:MM with different ends');
  if (p.rate !== undefined && (!isCount(p.rate) || p.rate === 0)) throw invalid('prefetch.rate must be a positive integer (bytes per second)');
}
