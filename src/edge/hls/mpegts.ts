/**
 * Just enough MPEG-TS (ISO 13818-1) to cut a transport stream into HLS segments: packet
 * sync detection and the presentation time stamps of PES headers, from which the
 * stream's duration follows. Pure functions over buffers; malformed packets are skipped.
 */
export const TS_PACKET = 188;
const PTS_HZ = 90_000;

/** Whether the bytes look like a transport stream: sync bytes at the start of several packets. */
export function isTransportStream(head: Buffer): boolean {
  const packets = Math.min(5, Math.floor(head.length / TS_PACKET));
  if (packets < 2) return false;
  for (let i = 0; i < packets; i++) if (head[i * TS_PACKET] !== 0x47) return false;
  return true;
}

/** The PTS (in seconds) of every PES header that starts in `buf`, whose first packet begins at `offset`. */
export function ptsValues(buf: Buffer, offset = 0): number[] {
  const out: number[] = [];
  for (let p = offset; p + TS_PACKET <= buf.length; p += TS_PACKET) {
    if (buf[p] !== 0x47) continue;
    const pusi = (buf[p + 1]! & 0x40) !== 0;
    const afc = (buf[p + 3]! >> 4) & 0x3;
    if (!pusi || (afc & 1) === 0) continue;
    let q = p + 4;
    if (afc === 3) q += 1 + buf[p + 4]!;
    if (q + 14 > p + TS_PACKET) continue;
    if (buf[q] !== 0 || buf[q + 1] !== 0 || buf[q + 2] !== 1) continue;
    const flags = buf[q + 7]!;
    if ((flags & 0x80) === 0) continue;
    const b = buf.subarray(q + 9, q + 14);
    const pts = (b[0]! & 0x0e) * 2 ** 29 + b[1]! * 2 ** 22 + (b[2]! >> 1) * 2 ** 15 + b[3]! * 2 ** 7 + (b[4]! >> 1);
    out.push(pts / PTS_HZ);
  }
  return out;
}
