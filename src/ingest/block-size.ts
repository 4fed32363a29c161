/**
 * Block size per content. Media: about `blockSeconds` of playback at the content's bitrate,
 * rounded to the nearest power of two within [256 KiB, 16 MiB], so that a player's first
 * block arrives quickly and each block is a few seconds of viewing. Other content: the
 * largest power of two that still gives about 1,000 blocks, within [1 MiB, 64 MiB], which
 * keeps the count between about 1,000 and 65,536 (per-block overhead vs. parallelism);
 * except that a content large enough for at least 64 blocks of 4 MiB (256 MiB) gets blocks
 * of at least 4 MiB. Why 4 MiB: each block costs a fixed price everywhere it goes (its own
 * file: create, sync, rename, directory sync; an index row; a request, frames and a
 * scheduling decision per peer) that on this project's machines is about the time of
 * writing 1 MiB: 1 GiB in 1 MiB blocks took twice as long to store as in 4 MiB ones
 * (notes/issue-15.md, session 10), and 256 MiB in 1 MiB blocks cost an 8-node swarm 12.5 CPU
 * s per GiB per node and 1.42x the fluid bound, against 8.3-8.8 and 1.22-1.26 in 4 MiB ones
 * (session 18; `distribute` 9.6 against 6.6 CPU s per GiB). Why from 64 blocks: the swarm
 * simulator gives 256 MiB in 64 blocks the same T/T* as in 256 (16 to 300 nodes, 7 runs:
 * one data centre 1.255 against 1.299, world 1.280 against 1.250), cut-through relay
 * forwarding a block's pieces while it arrives. A seek into the content waits for one
 * block, which stays 4 MiB up to 4 GiB.
 * Directories, `--chunking cdc` and a node's own default use 4 MiB for the same reasons.
 * MPEG-TS sizes are then rounded down to whole 188-byte packets. The reason is recorded in
 * the manifest.
 */
import { formatBytes } from '../core/sizes.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const MEDIA_MIN = 256 * KiB;
export const MEDIA_MAX = 16 * MiB;
export const GENERIC_MIN = MiB;
export const GENERIC_MAX = 64 * MiB;
export const OVERRIDE_MIN = 4 * KiB;
export const TARGET_BLOCKS = 1000;
/** Blocks of at least this size once a content has room for MIN_LARGE_BLOCKS of them. */
export const LARGE_BLOCK = 4 * MiB;
export const MIN_LARGE_BLOCKS = 64;
export const MAX_BLOCKS = 65_536;
export const DEFAULT_BLOCK_SECONDS = 2;
export const TS_PACKET = 188;

export interface BlockSizeInput {
  size: number;
  /** Bits per second, when the analyser found one. */
  bitrate?: number;
  blockSeconds?: number;
  /** A `--block-size` override. */
  override?: number;
  /** Block boundaries must fall on multiples of this (188 for MPEG-TS). */
  packet?: number;
}

export interface BlockSizeChoice {
  blockSize: number;
  reason: string;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function onPackets(choice: BlockSizeChoice, packet: number | undefined): BlockSizeChoice {
  if (!packet || packet <= 1 || choice.blockSize % packet === 0) return choice;
  const blockSize = Math.max(packet, Math.floor(choice.blockSize / packet) * packet);
  return { blockSize, reason: `${choice.reason}, cut to whole ${packet}-byte packets (${blockSize} B)` };
}

export function chooseBlockSize(input: BlockSizeInput): BlockSizeChoice {
  if (input.override !== undefined) {
    return onPackets({ blockSize: clamp(input.override, OVERRIDE_MIN, GENERIC_MAX), reason: `--block-size ${formatBytes(input.override)}` }, input.packet);
  }
  const seconds = input.blockSeconds ?? DEFAULT_BLOCK_SECONDS;
  if (input.bitrate !== undefined && input.bitrate > 0 && seconds > 0) {
    const raw = (input.bitrate / 8) * seconds;
    let blockSize = clamp(2 ** Math.round(Math.log2(raw)), MEDIA_MIN, MEDIA_MAX);
    const mbit = (input.bitrate / 1e6).toFixed(2);
    let reason = `media: ${seconds} s at ${mbit} Mbit/s is ${formatBytes(Math.round(raw))}, nearest power of two in [256 KiB, 16 MiB]`;
    // A very long, low-bitrate content would need a huge manifest; keep the block count bounded.
    while (input.size / blockSize > MAX_BLOCKS && blockSize < MEDIA_MAX) blockSize *= 2;
    if (input.size / blockSize > MAX_BLOCKS) blockSize = GENERIC_MAX;
    if (blockSize !== clamp(2 ** Math.round(Math.log2(raw)), MEDIA_MIN, MEDIA_MAX)) reason += `, raised to ${formatBytes(blockSize)} to stay within ${MAX_BLOCKS} blocks`;
    return onPackets({ blockSize, reason }, input.packet);
  }
  const pow = input.size >= TARGET_BLOCKS ? 2 ** Math.floor(Math.log2(input.size / TARGET_BLOCKS)) : 1;
  const large = input.size >= LARGE_BLOCK * MIN_LARGE_BLOCKS && pow < LARGE_BLOCK;
  const blockSize = large ? LARGE_BLOCK : clamp(pow, GENERIC_MIN, GENERIC_MAX);
  const count = Math.max(1, Math.ceil(input.size / blockSize));
  // Say the real count: a content under 1,000 MiB gets the 1 MiB floor and so fewer than 1,000 blocks.
  const why = large
    ? `4 MiB blocks (each block costs the store a file of its own) as the content has room for at least ${MIN_LARGE_BLOCKS} of them`
    : blockSize === GENERIC_MIN && pow < GENERIC_MIN
      ? `the smallest block size (1 MiB), since a 1,000-block split would be smaller`
      : `the largest power of two in [1 MiB, 64 MiB] giving at least ${TARGET_BLOCKS} blocks`;
  return onPackets({ blockSize, reason: `length: ${formatBytes(input.size)} in ${count} blocks of ${formatBytes(blockSize)}, ${why}` }, input.packet);
}
