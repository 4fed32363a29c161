// What the publishing page can tell about a file before uploading it, from a few small
// reads: its media type and whether it is linear (plays front to back from its first byte).
// For MP4 that means the `moov` index comes before the `mdat` media data; a file that
// starts with zeros (padding, sparse images) is not linear either. Pure: reads go through
// `read`, so the same code runs on a File in the browser and on a Buffer in tests.

export interface Box {
  type: string;
  offset: number;
  size: number;
}

export interface Analysis {
  kind: 'mp4' | 'mpeg-ts' | 'generic';
  mediaType: string;
  linear: boolean;
  notes: string[];
  boxes: Box[];
}

export type Read = (offset: number, length: number) => Promise<Uint8Array>;

const MAX_BOXES = 1000;
const PROBE = 4096;

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

/** Top-level MP4 boxes; stops at the first header that does not make sense. */
export async function mp4Boxes(read: Read, size: number): Promise<Box[]> {
  const boxes: Box[] = [];
  for (let offset = 0; offset + 8 <= size && boxes.length < MAX_BOXES; ) {
    const h = await read(offset, 16);
    if (h.length < 8) break;
    const view = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let boxSize = view.getUint32(0);
    const type = ascii(h, 4, 8);
    if (!/^[\x20-\x7e]{4}$/.test(type)) break;
    if (boxSize === 1) {
      if (h.length < 16) break;
      boxSize = Number(view.getBigUint64(8));
    } else if (boxSize === 0) {
      boxSize = size - offset;
    }
    if (boxSize < 8 || offset + boxSize > size) break;
    boxes.push({ type, offset, size: boxSize });
    offset += boxSize;
  }
  return boxes;
}

export async function analyse(read: Read, size: number, declaredType: string): Promise<Analysis> {
  const head = await read(0, Math.min(PROBE, size));
  const notes: string[] = [];
  const declared = /^[\w.+-]+\/[\w.+-]+$/.test(declaredType) ? declaredType : 'application/octet-stream';
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
    const boxes = await mp4Boxes(read, size);
    const moov = boxes.find((b) => b.type === 'moov');
    const mdat = boxes.find((b) => b.type === 'mdat');
    const linear = !!moov && (!mdat || moov.offset < mdat.offset);
    notes.push(moov ? `moov at ${moov.offset}${mdat ? `, mdat at ${mdat.offset}` : ''}` : 'no moov box found');
    if (!linear) notes.push('the index is after the media: playback needs the end first (several tracks)');
    return { kind: 'mp4', mediaType: 'video/mp4', linear, notes, boxes };
  }
  if (head.length > 376 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) {
    return { kind: 'mpeg-ts', mediaType: 'video/mp2t', linear: true, notes: ['188-byte MPEG-TS packets'], boxes: [] };
  }
  const leadingZeros = head.length > 0 && head.every((b) => b === 0);
  if (leadingZeros) notes.push(`starts with at least ${head.length} zero bytes (padding or a sparse image)`);
  return { kind: 'generic', mediaType: declared, linear: !leadingZeros, notes, boxes: [] };
}
