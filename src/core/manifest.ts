/**
 * The manifest describes one content: its blocks (each named by SHA-256), its size and
 * its policy. The content id is the SHA-256 of the manifest's canonical JSON, so a
 * manifest received from anyone can be checked against the id it was announced under.
 */
import { canonicalJson } from './canonical-json.js';
import { CanopyError } from './errors.js';
import { isHashHex, sha256Hex } from './hash.js';
import { formatCriteria, parseCriteria } from './criteria.js';
import { isValidPlacement } from './placement.js';

export const MANIFEST_FORMAT = 'canopy-manifest';
export const MANIFEST_VERSION = 1;
export const MAX_BLOCK_SIZE = 64 * 2 ** 20;
export const MAX_BLOCKS = 1 << 20;

export interface BlockRef {
  readonly offset: number;
  readonly length: number;
  readonly hash: string;
}

/** `full`, `prefix:<percent>` or `on-demand`: see placement.ts. */
export type Placement = string;

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly name: string;
  readonly size: number;
  readonly mediaType: string;
  readonly blockSize: number;
  readonly blocks: readonly BlockRef[];
  readonly criteria: string;
  readonly placement: Placement;
  readonly origin: string;
  readonly createdAt: string;
}

export function manifestBytes(manifest: Manifest): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8');
}

export function contentIdOf(manifest: Manifest): string {
  return sha256Hex(manifestBytes(manifest));
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

/**
 * Checks an untrusted value field by field and returns it as a Manifest. Blocks must tile
 * the content exactly: each starts where the previous ended, and they sum to `size`.
 */
export function parseManifest(value: unknown, expectedId?: string): Manifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('not an object');
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw invalid(`format must be "${MANIFEST_FORMAT}"`);
  if (m.version !== MANIFEST_VERSION) throw invalid(`unsupported version ${show(m.version)}`);
  if (typeof m.name !== 'string' || !isValidContentName(m.name)) throw invalid('name must be 1-255 characters without / \\ or NUL');
  if (!isCount(m.size)) throw invalid('size must be a non-negative integer');
  if (typeof m.mediaType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(m.mediaType)) throw invalid('mediaType must be type/subtype');
  if (!isCount(m.blockSize) || m.blockSize === 0 || m.blockSize > MAX_BLOCK_SIZE) throw invalid(`blockSize must be in 1..${MAX_BLOCK_SIZE}`);
  if (!Array.isArray(m.blocks) || m.blocks.length > MAX_BLOCKS) throw invalid(`blocks must be an array of at most ${MAX_BLOCKS}`);
  if (typeof m.criteria !== 'string') throw invalid('criteria must be a string');
  try {
    if (formatCriteria(parseCriteria(m.criteria)) !== m.criteria) throw invalid('criteria is not in canonical form');
  } catch (err) {
    throw invalid(`criteria: ${(err as Error).message}`);
  }
  if (!isValidPlacement(m.placement)) throw invalid('placement must be full, on-demand or prefix:<1..100>');
  if (typeof m.origin !== 'string' || m.origin.length === 0 || m.origin.length > 128) throw invalid('origin must be a node id');
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) throw invalid('createdAt must be an ISO date');
  let offset = 0;
  const blocks: BlockRef[] = [];
  for (const [i, b] of (m.blocks as unknown[]).entries()) {
    const block = b as Record<string, unknown> | null;
    if (typeof block !== 'object' || block === null) throw invalid(`block ${i} is not an object`);
    if (block.offset !== offset) throw invalid(`block ${i} starts at ${show(block.offset)}, expected ${offset}`);
    if (!isCount(block.length) || block.length === 0 || block.length > m.blockSize) throw invalid(`block ${i} length must be in 1..blockSize`);
    if (!isHashHex(block.hash)) throw invalid(`block ${i} hash must be 64 lowercase hex digits`);
    blocks.push({ offset, length: block.length, hash: block.hash });
    offset += block.length;
  }
  if (offset !== m.size) throw invalid(`blocks cover ${offset} bytes but size is ${m.size}`);
  const extra = Object.keys(m).filter((k) => !['format', 'version', 'name', 'size', 'mediaType', 'blockSize', 'blocks', 'criteria', 'placement', 'origin', 'createdAt'].includes(k));
  if (extra.length > 0) throw invalid(`unknown fields: ${extra.join(', ')}`);
  const manifest = m as unknown as Manifest;
  if (expectedId !== undefined && contentIdOf(manifest) !== expectedId) throw invalid(`content id does not match: expected ${expectedId}`);
  return manifest;
}
