/**
 * The MP4/MOV analyser: walks the top-level boxes. With `moov` before the first `mdat`
 * (fast start) the file plays front to back: one track. With `moov` after `mdat`, the
 * header becomes its own tracks, ordered first, so a player gets the index before the
 * media data: [leading boxes (ftyp…)] [moov] [mdat…] [anything after moov]. Duration comes
 * from `mvhd`; the bitrate is the file's bits over that duration.
 */
import { ContainerError, type Analysis, type PlannedTrack, type RandomReader } from './analysis.js';
import { findMovieHeader, LEADING_TYPES, parseBoxHeader, type BoxHeader } from './mp4-boxes.js';

const MAX_BOXES = 100_000;
const MAX_MOOV = 256 * 2 ** 20;

export function looksLikeMp4(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const type = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
  return LEADING_TYPES.has(type);
}

export async function walkTopLevel(reader: RandomReader): Promise<BoxHeader[]> {
  const boxes: BoxHeader[] = [];
  for (let at = 0; at < reader.size; ) {
    if (boxes.length >= MAX_BOXES) throw new ContainerError(`mp4: more than ${MAX_BOXES} top-level boxes`);
    const head = await reader.read(at, Math.min(16, reader.size - at));
    const box = parseBoxHeader(head, 0, reader.size - at, at);
    boxes.push(box);
    at += box.size;
  }
  return boxes;
}

export async function analyseMp4(reader: RandomReader, head: Uint8Array): Promise<Analysis> {
  const boxes = await walkTopLevel(reader);
  const moov = boxes.find((b) => b.type === 'moov');
  const mdat = boxes.find((b) => b.type === 'mdat');
  if (!moov) throw new ContainerError('mp4: no moov box (movie header missing)');
  if (!mdat) throw new ContainerError('mp4: no mdat box (media data missing)');
  if (moov.size > MAX_MOOV) throw new ContainerError(`mp4: moov of ${moov.size} bytes is too large to read`);
  const payload = await reader.read(moov.offset + moov.headerSize, moov.size - moov.headerSize);
  const mvhd = findMovieHeader(payload, moov.offset + moov.headerSize);
  const seconds = mvhd.duration / mvhd.timescale;
  const media = seconds > 0 ? { durationMs: Math.round(seconds * 1000), bitrate: Math.round((reader.size * 8) / seconds) } : undefined;
  const brand = head.length >= 12 && boxes[0]!.type === 'ftyp' ? String.fromCharCode(head[8]!, head[9]!, head[10]!, head[11]!) : '';
  const mediaType = brand === 'qt  ' ? 'video/quicktime' : 'video/mp4';
  const warnings = media ? [] : ['mp4: the movie header gives no duration; block size from the length'];
  const size = reader.size;
  let plan: PlannedTrack[];
  if (moov.offset < mdat.offset) {
    plan = [{ kind: 'media', offset: 0, length: size }];
  } else {
    const moovEnd = moov.offset + moov.size;
    plan = [
      ...(mdat.offset > 0 ? [{ kind: 'header' as const, offset: 0, length: mdat.offset }] : []),
      { kind: 'header', offset: moov.offset, length: moov.size },
      { kind: 'media', offset: mdat.offset, length: moov.offset - mdat.offset },
      ...(moovEnd < size ? [{ kind: 'media' as const, offset: moovEnd, length: size - moovEnd }] : []),
    ];
  }
  return { analyser: 'mp4', mediaType, media, plan, warnings };
}
