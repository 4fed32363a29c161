/**
 * What an analyser returns: which analyser recognised the bytes, the media type, playback
 * facts when known, and either a track plan (extents in fetch order) or no plan, in which
 * case the generic scan finds the substantive extents and holes while it cuts.
 */
import type { AnalyserName, MediaInfo, TrackKind } from '../core/manifest.js';

export interface PlannedTrack {
  readonly kind: TrackKind;
  readonly offset: number;
  readonly length: number;
}

export interface Analysis {
  readonly analyser: AnalyserName;
  readonly mediaType: string;
  readonly media?: MediaInfo;
  /** Tracks in fetch order; undefined means "scan for substantive content" (generic). */
  readonly plan?: readonly PlannedTrack[];
  /** Block boundaries must fall on multiples of this many bytes within a track. */
  readonly packet?: number;
  readonly warnings: readonly string[];
}

/** Random access to the file being analysed. Reads past the end return fewer bytes. */
export interface RandomReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** A container that is truncated or malformed: the analyser falls back to generic with this message. */
export class ContainerError extends Error {
  override name = 'ContainerError';
}
