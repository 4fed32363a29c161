/**
 * A publisher that hashed its file itself (the browser publishing page) sends a draft:
 * name, criteria, size, block size and the SHA-256 of every block. The origin turns it into
 * a manifest before any byte arrives, so the content can be announced at once and nodes can
 * fetch each block as soon as the upload delivers and the origin verifies it.
 */
import type { KeyObject } from 'node:crypto';
import { formatCriteria, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import { isHashHex } from '../core/hash.js';
import { contentIdOf, isValidContentName, MANIFEST_FORMAT, MANIFEST_VERSION, MAX_BLOCKS, type BlockRef, type Manifest } from '../core/manifest.js';
import { signManifest } from '../core/manifest-signature.js';
import { merkleRoot } from '../core/merkle.js';

export interface Draft {
  name: string;
  criteria: string;
  size: number;
  blockSize: number;
  mediaType: string;
  blocks: string[];
  /** SHA-256 of the whole file, checked when the upload completes. */
  sha256: string;
}

export const MIN_DRAFT_BLOCK_SIZE = 4096;
export const MAX_DRAFT_BLOCK_SIZE = 64 * 2 ** 20;

function bad(field: string, problem: string): CanopyError {
  return new CanopyError('ERR_USAGE', `draft ${field}: ${problem}`, { details: { field } });
}

/** Checks an untrusted draft field by field; criteria errors keep their own code and position. */
export function parseDraft(value: unknown): Draft {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('(body)', 'expected a JSON object');
  const d = value as Record<string, unknown>;
  const extra = Object.keys(d).filter((k) => !['name', 'criteria', 'size', 'blockSize', 'mediaType', 'blocks', 'sha256'].includes(k));
  if (extra.length > 0) throw bad(extra[0]!, 'unknown field');
  if (typeof d.name !== 'string' || !isValidContentName(d.name)) throw bad('name', 'must be 1-255 characters without / \\ or NUL');
  if (typeof d.criteria !== 'string') throw bad('criteria', 'must be a string');
  const criteria = formatCriteria(parseCriteria(d.criteria));
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw bad('size', 'must be a non-negative integer');
  if (typeof d.blockSize !== 'number' || !Number.isInteger(d.blockSize) || d.blockSize < MIN_DRAFT_BLOCK_SIZE || d.blockSize > MAX_DRAFT_BLOCK_SIZE) {
    throw bad('blockSize', `must be an integer in ${MIN_DRAFT_BLOCK_SIZE}..${MAX_DRAFT_BLOCK_SIZE}`);
  }
  const mediaType = d.mediaType === undefined || d.mediaType === '' ? 'application/octet-stream' : d.mediaType;
  if (typeof mediaType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) throw bad('mediaType', 'must be type/subtype');
  const expected = Math.ceil(d.size / d.blockSize);
  if (expected > MAX_BLOCKS) throw bad('size', `needs ${expected} blocks; at most ${MAX_BLOCKS} are allowed (use a larger block size)`);
  if (!Array.isArray(d.blocks) || d.blocks.length !== expected) throw bad('blocks', `must list ${expected} block hashes for ${d.size} bytes in blocks of ${d.blockSize}`);
  for (const [i, h] of d.blocks.entries()) if (!isHashHex(h)) throw bad(`blocks[${i}]`, 'must be 64 lowercase hex digits');
  if (!isHashHex(d.sha256)) throw bad('sha256', 'must be 64 lowercase hex digits');
  return { name: d.name, criteria, size: d.size, blockSize: d.blockSize, mediaType, blocks: d.blocks as string[], sha256: d.sha256 };
}

/**
 * The manifest of a draft: one linear track (the page cuts fixed-size blocks and does not
 * look for holes), signed with the origin's own publisher key, since the browser sends no
 * signature. `key` is that key.
 */
export function manifestFromDraft(draft: Draft, origin: string, key: KeyObject, createdAt = new Date().toISOString()): { contentId: string; manifest: Manifest } {
  const blocks: BlockRef[] = draft.blocks.map((hash, i) => ({ track: 0, index: i, offset: i * draft.blockSize, length: Math.min(draft.blockSize, draft.size - i * draft.blockSize), hash }));
  const manifest = signManifest(
    {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      name: draft.name,
      size: draft.size,
      mediaType: draft.mediaType,
      analyser: 'generic',
      linear: true,
      blockSize: draft.blockSize,
      blockSizeReason: `publishing page: ${draft.blockSize} B blocks`,
      tracks: draft.size > 0 ? [{ order: 0, kind: 'data', offset: 0, length: draft.size }] : [],
      holes: [],
      blocks,
      merkleRoot: merkleRoot(blocks.map((b) => b.hash)),
      criteria: draft.criteria,
      placement: 'full',
      origin,
      createdAt,
    },
    key,
  );
  return { contentId: contentIdOf(manifest), manifest };
}
