/**
 * The MPEG-TS analyser: a transport stream plays front to back, so it is linear (one track);
 * block boundaries fall on 188-byte packets; the bitrate comes from PCRs in a window at the
 * start and one at the end (packets in both windows are checked for sync).
 */
import { ContainerError, type Analysis, type RandomReader } from './analysis.js';
import { bitrateFromPcr, PACKET, scanPackets } from './ts-packets.js';

const WINDOW = PACKET * 22_000; // about 4 MiB

export async function analyseTs(reader: RandomReader): Promise<Analysis> {
  const size = reader.size;
  if (size % PACKET !== 0) throw new ContainerError(`mpeg-ts: length ${size} is not a whole number of ${PACKET}-byte packets (truncated?)`);
  const headLength = Math.min(WINDOW, size);
  const samples = scanPackets(await reader.read(0, headLength), 0);
  const tailStart = Math.max(headLength, size - WINDOW);
  if (tailStart < size) samples.push(...scanPackets(await reader.read(tailStart, size - tailStart), tailStart));
  const bitrate = bitrateFromPcr(samples);
  const warnings = bitrate ? [] : ['mpeg-ts: no usable PCR; block size from the length'];
  const media = bitrate ? { bitrate, durationMs: Math.round((size * 8 * 1000) / bitrate) } : undefined;
  return { analyser: 'mpeg-ts', mediaType: 'video/mp2t', media, plan: size > 0 ? [{ kind: 'stream', offset: 0, length: size }] : [], packet: PACKET, warnings };
}
