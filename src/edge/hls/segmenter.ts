/**
 * Builds the HLS segment list of a content by reading a little of it through the virtual
 * file (which fetches missing blocks on demand): for MPEG-TS, the first and last time
 * stamps give the duration and segments are cut at packet boundaries in proportion; for
 * fragmented MP4, the top-level boxes are walked and each moof+mdat pair is a segment
 * timed by its decode time. Other contents have no playlist.
 */
import { CanopyError } from '../../core/errors.js';
import type { VirtualFile } from '../../vfile/virtual-file.js';
import { fragmentDecodeTime, mediaTimescale, readBoxHeader } from './mp4-boxes.js';
import { isTransportStream, ptsValues, TS_PACKET } from './mpegts.js';
import { proportionalSegments, type PlaylistInput, type Segment } from './playlist.js';

export const TARGET_SEGMENT_SECONDS = 6;
const PROBE_BYTES = 2 * 2 ** 20;
const MAX_BOXES = 1_000_000;

export async function readBytes(file: VirtualFile, start: number, length: number): Promise<Buffer> {
  const end = Math.min(file.size, start + length) - 1;
  if (end < start) return Buffer.alloc(0);
  // One copy out of the pooled block buffers, straight into the answer.
  const out = Buffer.allocUnsafe(end - start + 1);
  let at = 0;
  for await (const slice of file.slices(start, end)) {
    at += slice.bytes.copy(out, at);
    slice.release();
  }
  return out.subarray(0, at);
}

export async function segmentContent(file: VirtualFile, uri: string): Promise<PlaylistInput> {
  const head = await readBytes(file, 0, PROBE_BYTES);
  if (isTransportStream(head)) return { uri, segments: await transportSegments(file, head) };
  const first = readBoxHeader(head, 0, file.size);
  if (first?.type === 'ftyp') return fragmentedMp4(file, uri);
  throw new CanopyError('ERR_CONTENT_NOT_FOUND', 'no HLS playlist: the content is neither MPEG-TS nor fragmented MP4');
}

async function transportSegments(file: VirtualFile, head: Buffer): Promise<Segment[]> {
  const tailStart = Math.max(0, Math.floor((file.size - PROBE_BYTES) / TS_PACKET) * TS_PACKET);
  const tail = await readBytes(file, tailStart, PROBE_BYTES);
  const firsts = ptsValues(head);
  const lasts = ptsValues(tail);
  const seconds = firsts.length > 0 && lasts.length > 0 ? Math.max(...lasts) - Math.min(...firsts) : 0;
  const end = Math.floor(file.size / TS_PACKET) * TS_PACKET;
  return proportionalSegments(0, end, seconds, TARGET_SEGMENT_SECONDS, TS_PACKET);
}

async function fragmentedMp4(file: VirtualFile, uri: string): Promise<PlaylistInput> {
  const moofs: { offset: number; time: number | undefined }[] = [];
  let timescale: number | undefined;
  let at = 0;
  for (let n = 0; at < file.size && n < MAX_BOXES; n++) {
    const header = readBoxHeader(await readBytes(file, at, 16), 0, file.size - at);
    if (!header) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no HLS playlist: malformed MP4 box at offset ${at}`);
    if (header.type === 'moov') timescale = mediaTimescale(await readBytes(file, at, header.size));
    if (header.type === 'moof') moofs.push({ offset: at, time: fragmentDecodeTime(await readBytes(file, at, Math.min(header.size, 1 << 20))) });
    at += header.size;
  }
  if (moofs.length === 0 || !timescale) throw new CanopyError('ERR_CONTENT_NOT_FOUND', 'no HLS playlist: the MP4 is not fragmented');
  const segments: Segment[] = moofs.map((m, i) => {
    const next = moofs[i + 1];
    const end = next?.offset ?? file.size;
    const span = next?.time !== undefined && m.time !== undefined ? (next.time - m.time) / timescale! : undefined;
    return { offset: m.offset, length: end - m.offset, duration: span ?? -1 };
  });
  const known = segments.filter((s) => s.duration > 0);
  const typical = known.length > 0 ? known.reduce((a, s) => a + s.duration, 0) / known.length : TARGET_SEGMENT_SECONDS;
  for (const s of segments) if (s.duration <= 0) s.duration = typical;
  return { uri, init: { offset: 0, length: moofs[0]!.offset }, segments };
}
