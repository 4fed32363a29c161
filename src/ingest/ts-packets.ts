/**
 * MPEG-TS packet parsing, pure: 188-byte packets starting with sync byte 0x47, and the
 * program clock reference (PCR, 27 MHz) carried in adaptation fields. The bitrate is the
 * bytes between two PCRs of one PID over the time between them.
 */
import { ContainerError } from './analysis.js';

export const PACKET = 188;
export const SYNC = 0x47;
export const PCR_HZ = 27_000_000;

export interface PcrSample {
  readonly pos: number;
  readonly pid: number;
  readonly pcr: number;
}

export function looksLikeTs(head: Uint8Array): boolean {
  const packets = Math.min(5, Math.floor(head.length / PACKET));
  if (packets === 0) return false;
  for (let i = 0; i < packets; i++) if (head[i * PACKET] !== SYNC) return false;
  return true;
}

/** The PCR of the packet at `at` in `buf`, if it carries one; throws on a lost sync. `base` is the file offset of buf. */
export function packetPcr(buf: Uint8Array, at: number, base = 0): PcrSample | undefined {
  if (buf.length < at + PACKET) throw new ContainerError(`mpeg-ts: packet at ${base + at} is cut short`);
  if (buf[at] !== SYNC) throw new ContainerError(`mpeg-ts: lost sync at ${base + at} (byte 0x${buf[at]!.toString(16)}, expected 0x47)`);
  const pid = ((buf[at + 1]! & 0x1f) << 8) | buf[at + 2]!;
  const control = (buf[at + 3]! >> 4) & 3;
  if (control !== 2 && control !== 3) return undefined;
  const adaptationLength = buf[at + 4]!;
  if (adaptationLength > 183) throw new ContainerError(`mpeg-ts: adaptation field of ${adaptationLength} bytes at ${base + at}`);
  if (adaptationLength < 7 || (buf[at + 5]! & 0x10) === 0) return undefined;
  const b = (i: number) => buf[at + 6 + i]!;
  const pcrBase = b(0) * 2 ** 25 + b(1) * 2 ** 17 + b(2) * 2 ** 9 + b(3) * 2 + (b(4) >> 7);
  const pcrExt = ((b(4) & 1) << 8) | b(5);
  return { pos: base + at, pid, pcr: pcrBase * 300 + pcrExt };
}

/** Checks every packet of a window (file offset `base`, a multiple of 188) and collects its PCRs. */
export function scanPackets(buf: Uint8Array, base: number): PcrSample[] {
  const out: PcrSample[] = [];
  for (let at = 0; at + PACKET <= buf.length; at += PACKET) {
    const s = packetPcr(buf, at, base);
    if (s) out.push(s);
  }
  return out;
}

/** Bits per second from the first and last PCR of the first PID that has two; undefined if none. */
export function bitrateFromPcr(samples: readonly PcrSample[]): number | undefined {
  for (const first of samples) {
    const last = [...samples].reverse().find((s) => s.pid === first.pid && s.pos > first.pos && s.pcr > first.pcr);
    if (last) return Math.round(((last.pos - first.pos) * 8 * PCR_HZ) / (last.pcr - first.pcr));
  }
  return undefined;
}
