/** Builds signed v2 manifests for unit tests from a layout (tracks and holes), with made-up block hashes. */
import { type KeyObject } from 'node:crypto';
import { newEd25519PrivateKey } from '../../src/core/fresh-keys.js';
import { sha256Hex } from '../../src/core/hash.js';
import type { BlockRef, Hole, Manifest, Track, TrackKind } from '../../src/core/manifest.js';
import { signManifest } from '../../src/core/manifest-signature.js';
import { merkleRoot } from '../../src/core/merkle.js';

export const testKey: KeyObject = newEd25519PrivateKey();

export interface Layout {
  size: number;
  blockSize: number;
  tracks: { offset: number; length: number; kind?: TrackKind }[];
  holes?: Hole[];
  /** The block hashes (default: made up from each block's offset). */
  hashOf?: (b: Omit<BlockRef, 'hash'>) => string;
}

export function blocksOf(tracks: readonly Track[], blockSize: number, hashOf: (b: Omit<BlockRef, 'hash'>) => string = (b) => sha256Hex(`${b.offset}`)): BlockRef[] {
  const out: BlockRef[] = [];
  for (const t of tracks) {
    for (let index = 0, offset = t.offset; offset < t.offset + t.length; index++, offset += blockSize) {
      const b = { track: t.order, index, offset, length: Math.min(blockSize, t.offset + t.length - offset) };
      out.push({ ...b, hash: hashOf(b) });
    }
  }
  return out;
}

export function makeManifest(layout: Layout, key: KeyObject = testKey, extra: Partial<Manifest> = {}): Manifest {
  const tracks: Track[] = layout.tracks.map((t, order) => ({ order, kind: t.kind ?? 'data', offset: t.offset, length: t.length }));
  const holes = layout.holes ?? [];
  const blocks = blocksOf(tracks, layout.blockSize, layout.hashOf);
  const linear = tracks.length <= 1 && (tracks.length === 0 || tracks[0]!.offset === 0) && holes.length === 0;
  return signManifest(
    {
      format: 'canopy-manifest',
      version: 2,
      name: 'a.bin',
      size: layout.size,
      mediaType: 'application/octet-stream',
      analyser: 'generic',
      linear,
      blockSize: layout.blockSize,
      blockSizeReason: 'test',
      tracks,
      holes,
      blocks,
      merkleRoot: merkleRoot(blocks.map((b) => b.hash)),
      criteria: 'region=eu',
      placement: 'full',
      origin: 'n1',
      createdAt: '2026-11-25T00:00:00.000Z',
      ...extra,
    },
    key,
  );
}
