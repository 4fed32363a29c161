/**
 * An HLS media playlist (RFC 8216) whose segments are byte ranges of one resource, so a
 * content is streamed as it is stored, without remuxing or copying.
 */
export interface Segment {
  offset: number;
  length: number;
  /** Seconds. */
  duration: number;
}

export interface PlaylistInput {
  uri: string;
  segments: readonly Segment[];
  /** For fragmented MP4: the initialisation section (ftyp + moov). */
  init?: { offset: number; length: number };
}

export function renderPlaylist(p: PlaylistInput): string {
  const target = Math.max(1, Math.ceil(Math.max(0, ...p.segments.map((s) => s.duration))));
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.init ? 7 : 4}`, `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
  if (p.init) lines.push(`#EXT-X-MAP:URI="${p.uri}",BYTERANGE="${p.init.length}@${p.init.offset}"`);
  for (const s of p.segments) lines.push(`#EXTINF:${s.duration.toFixed(3)},`, `#EXT-X-BYTERANGE:${s.length}@${s.offset}`, p.uri);
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** Cuts [start, end) into segments of about `target` seconds, at `align`-byte boundaries, duration proportional to bytes. */
export function proportionalSegments(start: number, end: number, seconds: number, target: number, align: number): Segment[] {
  const bytes = end - start;
  if (bytes <= 0 || !(seconds > 0)) return bytes > 0 ? [{ offset: start, length: bytes, duration: 1 }] : [];
  const perSegment = Math.max(align, Math.round((bytes / seconds) * target / align) * align);
  const out: Segment[] = [];
  for (let at = start; at < end; at += perSegment) {
    const length = Math.min(perSegment, end - at);
    out.push({ offset: at, length, duration: (length / bytes) * seconds });
  }
  return out;
}
