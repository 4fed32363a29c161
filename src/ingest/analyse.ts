/**
 * Chooses the analyser by sniffing the first bytes (never the file name): MP4/MOV by its
 * leading box, MPEG-TS by sync bytes every 188 bytes, otherwise generic. A container that
 * turns out truncated or malformed falls back to generic with a warning naming the fault;
 * the publish goes on.
 */
import { ContainerError, type Analysis, type RandomReader } from './analysis.js';
import { analyseMp4, looksLikeMp4 } from './mp4-analyser.js';
import { analyseTs } from './ts-analyser.js';
import { looksLikeTs } from './ts-packets.js';

const SNIFF = 4096;

export function genericAnalysis(warnings: string[] = []): Analysis {
  return { analyser: 'generic', mediaType: 'application/octet-stream', warnings };
}

export async function analyse(reader: RandomReader): Promise<Analysis> {
  const head = await reader.read(0, Math.min(SNIFF, reader.size));
  const candidates: [string, () => Promise<Analysis>][] = [];
  if (looksLikeMp4(head)) candidates.push(['mp4', () => analyseMp4(reader, head)]);
  if (looksLikeTs(head)) candidates.push(['mpeg-ts', () => analyseTs(reader)]);
  const warnings: string[] = [];
  for (const [, run] of candidates) {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof ContainerError)) throw err;
      warnings.push(`${err.message}; treated as generic data`);
    }
  }
  return genericAnalysis(warnings);
}
