/**
 * The shape of a manifest (version 2) and its canonical bytes: what is hashed into the
 * content id and what the publisher signs. The strict parser is manifest.ts, the signature
 * code manifest-signature.ts; both build on this file and not on each other's.
 */
import { canonicalJson } from './canonical-json.js';

export const MANIFEST_FORMAT = 'canopy-manifest';
export const MANIFEST_VERSION = 2;
export const MAX_BLOCK_SIZE = 64 * 2 ** 20;
export const MAX_BLOCKS = 1 << 20;
export const MAX_TRACKS = 1 << 16;
export const MAX_HOLES = 1 << 20;

export const TRACK_KINDS = ['data', 'header', 'media', 'stream'] as const;
export type TrackKind = (typeof TRACK_KINDS)[number];
export const ANALYSERS = ['generic', 'mp4', 'mpeg-ts'] as const;
export type AnalyserName = (typeof ANALYSERS)[number];

/** A run of substantive bytes, stored as blocks. Tracks are listed in fetch order (`order` = position). */
export interface Track {
  readonly order: number;
  readonly kind: TrackKind;
  readonly offset: number;
  readonly length: number;
}

/** A run of zeros that is not stored; readers see zeros. */
export interface Hole {
  readonly offset: number;
  readonly length: number;
}

/** Block `index` of track `track`, at file offset `offset`. Every block but a track's last is `blockSize` long. */
export interface BlockRef {
  readonly track: number;
  readonly index: number;
  readonly offset: number;
  readonly length: number;
  readonly hash: string;
}

export interface MediaInfo {
  readonly durationMs: number;
  readonly bitrate: number;
}

/** `full`, `prefix:<percent>` or `on-demand`: see placement.ts. */
export type Placement = string;

/** How the blocks were cut: fixed-size, or content-defined (FastCDC, see docs/CHUNKING.md). */
export type Chunking = { readonly method: 'fixed' } | { readonly method: 'fastcdc'; readonly min: number; readonly avg: number; readonly max: number };

/** Policy for background prefetch: a local-time window `HH:MM-HH:MM` and a rate in bytes/s. */
export interface PrefetchPolicy {
  readonly window?: string;
  readonly rate?: number;
}

export interface UnsignedManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly name: string;
  readonly size: number;
  readonly mediaType: string;
  readonly analyser: AnalyserName;
  readonly linear: boolean;
  readonly media?: MediaInfo;
  readonly blockSize: number;
  readonly blockSizeReason: string;
  readonly tracks: readonly Track[];
  readonly holes: readonly Hole[];
  readonly blocks: readonly BlockRef[];
  readonly merkleRoot: string;
  readonly criteria: string;
  readonly placement: Placement;
  readonly origin: string;
  readonly createdAt: string;
  /** The publisher's Ed25519 public key, raw 32 bytes in base64url. */
  readonly publisher: string;
  /** Policy: after this ISO time no node serves the content and every node frees its blocks. */
  readonly expires?: string;
  /** Absent means fixed-size blocks of `blockSize`. */
  readonly chunking?: Chunking;
  /** Policy for background prefetch (window, rate). */
  readonly prefetch?: PrefetchPolicy;
}

export interface Manifest extends UnsignedManifest {
  /** Ed25519 signature (64 bytes, base64url) over manifestBytes(). */
  readonly signature: string;
}

/** The canonical bytes that are hashed (content id) and signed: every field but `signature`. */
export function manifestBytes(manifest: UnsignedManifest): Buffer {
  const { signature: _omit, ...unsigned } = manifest as Manifest;
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

