/**
 * The ingest pipeline, used by `canopy ingest`, `canopy publish` and the root: analyse the
 * file (sniffing, seeking where the container needs it), choose the block size, cut the
 * tracks into blocks (reading ahead), hash each block, hand it to a sink (the local store,
 * an upload, or nothing), and build and sign the manifest. Memory is bounded by the buffer
 * pools, whatever the file size.
 */
import type { KeyObject } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { CanopyError } from '../core/errors.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type BlockRef, type Hole, type Manifest, type PrefetchPolicy, type Track } from '../core/manifest.js';
import { formatBytes } from '../core/sizes.js';
import { signManifestWithId } from '../core/manifest-signature.js';
import { merkleRoot } from '../core/merkle.js';
import type { FileEntry } from '../core/manifest-files.js';
import { analyse } from './analyse.js';
import type { Analysis, PlannedTrack, RandomReader } from './analysis.js';
import { chooseBlockSize } from './block-size.js';
import { BufferPool } from './buffer-pool.js';
import { mainThreadHasher, WorkerHasher, type Hasher } from './hash-workers.js';
import { runPipeline, type BlockSink } from './pipeline.js';
import { cutPlanned } from './planned-cutter.js';
import { PAGE, ScanCutter, type Extent } from './scan-cutter.js';
import { cutFileCdc } from './cdc-cutter.js';
import { cdcParamsFor, type CdcParams } from './fastcdc.js';
import type { PositionalReader } from './cut-block.js';

/** Memory for blocks in flight, per pool; at least MIN_BUFFERS blocks whatever their size. */
const POOL_BYTES = 48 * 2 ** 20;
const MIN_BUFFERS = 3;
const MAX_BUFFERS = 16;
const DEFAULT_HASH_THREADS = 2;
/** Average block size of content-defined chunking when --block-size does not say. */
export const DEFAULT_CDC_AVERAGE = 4 * 2 ** 20;

export interface IngestFileOptions {
  name: string;
  /** Criteria in canonical form. */
  criteria: string;
  origin: string;
  key: KeyObject;
  blockSize?: number;
  blockSeconds?: number;
  /** `full` (default), `prefix:<percent>` or `on-demand`: how much each qualified node keeps. */
  placement?: string;
  createdAt?: Date;
  onProgress?: (bytes: number, total: number) => void;
  /** Hash on this many worker threads (default 2; 0 hashes on the main thread). */
  hashThreads?: number;
  /** 'cdc': content-defined blocks (FastCDC) averaging blockSize, for generic content. */
  chunking?: 'fixed' | 'cdc';
  /** Policy: ISO time after which the content is out of service everywhere. */
  expires?: string;
  /** Policy: background prefetch only in a local-time window and/or at a rate. */
  prefetch?: PrefetchPolicy;
  /** The layout, already known (an image spooled by the registry client): no sniffing. */
  analysis?: Analysis;
}

export interface IngestResult {
  contentId: string;
  manifest: Manifest;
  warnings: readonly string[];
}

export interface IngestSummary {
  contentId: string;
  name: string;
  size: number;
  analyser: string;
  mediaType: string;
  linear: boolean;
  tracks: { order: number; kind: string; offset: number; length: number }[];
  blockSize: number;
  blockSizeReason: string;
  blocks: number;
  holes: number;
  holeBytes: number;
  media?: { durationMs: number; bitrate: number };
  /** A directory content: how many regular files it carries. */
  files?: number;
  warnings: readonly string[];
}

export function summarise(result: IngestResult): IngestSummary {
  const m = result.manifest;
  return {
    contentId: result.contentId,
    name: m.name,
    size: m.size,
    analyser: m.analyser,
    mediaType: m.mediaType,
    linear: m.linear,
    tracks: m.tracks.map((t) => ({ ...t })),
    blockSize: m.blockSize,
    blockSizeReason: m.blockSizeReason,
    blocks: m.blocks.length,
    holes: m.holes.length,
    holeBytes: m.holes.reduce((s, h) => s + h.length, 0),
    ...(m.media ? { media: m.media } : {}),
    ...(m.files ? { files: m.files.filter((f) => f.type === 'file').length } : {}),
    warnings: result.warnings,
  };
}

/** Random reads for the analysers over any positional reader (a file, an origin). */
export function fileReader(fh: PositionalReader, size: number): RandomReader {
  return {
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(buf, got, n - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
  };
}

async function openFile(file: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new CanopyError('ERR_FILE_NOT_FOUND', `cannot read "${file}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new CanopyError('ERR_FILE_NOT_FOUND', `"${file}" is not a regular file`);
  }
  return { fh, size: st.size };
}

/** Analyses, cuts, hashes and sinks a file; returns its signed manifest. */
export async function ingestFile(file: string, sink: BlockSink, options: IngestFileOptions): Promise<IngestResult> {
  const { fh, size } = await openFile(file);
  try {
    if (options.chunking === 'cdc') {
      const analysis = options.analysis ?? (await analyse(fileReader(fh, size)));
      // Media keeps blocks cut by playback time and track; content-defined cuts are for generic content.
      if (!analysis.plan) return await ingestCdc(fh, size, analysis, sink, cdcParamsFor(options.blockSize ?? DEFAULT_CDC_AVERAGE), options);
      const warnings = [...analysis.warnings, `content-defined chunking is for generic content; ${analysis.analyser} keeps playback-sized blocks`];
      return await ingestReader(fh, size, sink, { ...options, analysis: { ...analysis, warnings } });
    }
    return await ingestReader(fh, size, sink, options);
  } finally {
    await fh.close();
  }
}

/**
 * Analyses, cuts, hashes and sinks `size` bytes read by position: a local file, or an
 * origin read by ranges (src/client/origins/). Fixed blocks only (content-defined chunking
 * reads a local file as a stream).
 */
export async function ingestReader(reader: PositionalReader, size: number, sink: BlockSink, options: IngestFileOptions): Promise<IngestResult> {
  const analysis = options.analysis ?? (await analyse(fileReader(reader, size)));
  const choice = chooseBlockSize({ size, bitrate: analysis.media?.bitrate, blockSeconds: options.blockSeconds, override: options.blockSize, packet: analysis.packet });
  const cut = await cutAndHash(reader, size, choice.blockSize, sink, options, size, analysis.plan ? { planned: analysis.plan } : {});
  return build(analysis, cut.plan, cut.holes, cut.blocks, choice, size, options);
}

/**
 * How to cut: by `planned` tracks (media), or scanning for zero runs (holes) in `extents`
 * (default: the whole content; a tree: its files); `readAhead`, reads in flight.
 */
export interface CutHow {
  planned?: readonly PlannedTrack[];
  extents?: readonly Extent[];
  readAhead?: number;
  /** Hash threads the caller started (startHasher) and closes; by default they are started here for `hashThreads`. */
  hasher?: Hasher;
}

/**
 * The hash threads for an ingest (`hashThreads`, default 2; 0: the main thread). A worker
 * takes tens of milliseconds to start: a caller with other work first (a tree's walk) starts
 * them before it, so they are ready when the first bytes are read.
 */
export function startHasher(options: Pick<IngestFileOptions, 'hashThreads'>): Hasher {
  const threads = options.hashThreads ?? DEFAULT_HASH_THREADS;
  return threads > 0 ? new WorkerHasher(threads) : mainThreadHasher;
}

/**
 * Cuts `reader` into blocks (by plan, or scanning for holes), hashes them on worker threads
 * and hands them to the sink, with memory bounded by the pools. `total` is what progress counts up to.
 */
export async function cutAndHash(reader: PositionalReader, size: number, blockSize: number, sink: BlockSink, options: Pick<IngestFileOptions, 'hashThreads' | 'onProgress'>, total: number, how: CutHow): Promise<{ plan: readonly PlannedTrack[]; holes: Hole[]; blocks: BlockRef[] }> {
  const count = Math.max(MIN_BUFFERS, Math.min(MAX_BUFFERS, Math.floor(POOL_BYTES / blockSize)));
  const hasher = how.hasher ?? startHasher(options);
  // Buffers in shared memory when workers hash them in place.
  const shared = hasher !== mainThreadHasher;
  const readPool = new BufferPool(blockSize, count, shared);
  let done = 0;
  const onBlock = (b: { length: number }) => {
    done += b.length;
    options.onProgress?.(done, total);
  };
  try {
    let out: { plan: readonly PlannedTrack[]; holes: Hole[]; blocks: BlockRef[] };
    if (how.planned) {
      out = { plan: how.planned, holes: [], blocks: await runPipeline(cutPlanned(reader, how.planned, blockSize, readPool, how.readAhead), sink, { concurrency: count, hasher, onBlock }) };
    } else {
      const scan = new ScanCutter(reader, size, blockSize, readPool, new BufferPool(blockSize, count, shared), { extents: how.extents, readAhead: how.readAhead, scan: (data) => hasher.scanAndHash(data, PAGE), readAndScan: hasher.readAndScan && ((at, data) => hasher.readAndScan!(at, data, PAGE)) });
      const blocks = await runPipeline(scan.blocks(), sink, { concurrency: count, hasher, onBlock });
      out = { plan: scan.tracks, holes: scan.holes, blocks };
    }
    options.onProgress?.(total, total);
    return out;
  } finally {
    if (!how.hasher) await hasher.close();
  }
}

/** One data track from 0, cut by FastCDC; zero runs are data (their identical blocks are stored once). */
async function ingestCdc(fh: FileHandle, size: number, analysis: Analysis, sink: BlockSink, cdc: CdcParams, options: IngestFileOptions): Promise<IngestResult> {
  let done = 0;
  const hashed = await runPipeline(cutFileCdc(fh, cdc), sink, {
    concurrency: 4,
    hasher: mainThreadHasher,
    onBlock: (b) => options.onProgress?.((done += b.length), size),
  });
  options.onProgress?.(size, size);
  const plan: PlannedTrack[] = size > 0 ? [{ kind: 'data', offset: 0, length: size }] : [];
  const reason = `content-defined (FastCDC): min ${formatBytes(cdc.min)}, average ${formatBytes(cdc.avg)}, max ${formatBytes(cdc.max)}`;
  return build(analysis, plan, [], hashed, { blockSize: cdc.max, reason }, size, options, cdc);
}

/** Signs the manifest of an ingest; `files` makes it a directory content (ingest-directory.ts). */
export function build(analysis: Analysis, plan: readonly PlannedTrack[], holes: Hole[], blocks: BlockRef[], choice: { blockSize: number; reason: string }, size: number, options: IngestFileOptions, cdc?: CdcParams, files?: readonly FileEntry[]): IngestResult {
  const tracks: Track[] = plan.map((t, order) => ({ order, kind: t.kind, offset: t.offset, length: t.length }));
  const linear = tracks.length <= 1 && (tracks.length === 0 || tracks[0]!.offset === 0) && holes.length === 0;
  const { manifest, contentId } = signManifestWithId(
    {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      name: options.name,
      size,
      mediaType: analysis.mediaType,
      analyser: analysis.analyser,
      linear,
      ...(analysis.media ? { media: analysis.media } : {}),
      blockSize: choice.blockSize,
      blockSizeReason: choice.reason,
      tracks,
      holes,
      blocks,
      merkleRoot: merkleRoot(blocks.map((b) => b.hash)),
      criteria: options.criteria,
      placement: options.placement ?? 'full',
      origin: options.origin,
      createdAt: (options.createdAt ?? new Date()).toISOString(),
      ...(options.expires ? { expires: new Date(options.expires).toISOString() } : {}),
      ...(cdc ? { chunking: { method: 'fastcdc' as const, ...cdc } } : {}),
      ...(options.prefetch && (options.prefetch.window || options.prefetch.rate) ? { prefetch: options.prefetch } : {}),
      ...(files ? { files } : {}),
    },
    options.key,
  );
  return { contentId, manifest, warnings: analysis.warnings };
}
