/** The block store's public shapes: options, stripe hints, stats and failure reports. */
import type { Logger } from '../core/logger.js';
import type { EvictionPolicy } from './eviction.js';
import type { VolumeRow } from './index-db.js';
import type { VerifyReads } from './read-verification.js';

export interface StoreOptions {
  /** Most bytes of blocks the node keeps over all volumes. */
  quota?: number;
  evictionPolicy?: EvictionPolicy;
  readOnly?: boolean;
  log?: Logger;
  /** How often volumes are probed for failure and for space freed (ms). */
  probeIntervalMs?: number;
  /** Which reads hash the block (read-verification.ts): the first read of a block found on disk (`found`, default), also of one this run wrote (`first`), or every read. */
  verifyReads?: VerifyReads;
}

/** Which content and which block of it a write belongs to, for striping. */
export interface StripeHint {
  stripe: string;
  index: number;
}

/** A volume as the index records it, with its usage. */
export interface VolumeStats extends VolumeRow {
  bytes: number;
  blocks: number;
}

export interface StoreStats {
  volumes: VolumeStats[];
  bytes: number;
  blocks: number;
  quota: number | null;
  evictionPolicy: EvictionPolicy;
  failedVolumes: string[];
  /** max/min of bytes per unit of weight over working volumes (1 = perfectly balanced). */
  balance: number | null;
  lostBlocks: number;
  corruptBlocks: number;
  evictions: number;
  evictedBytes: number;
}

export interface VolumeFailure {
  id: string;
  path: string;
  reason: string;
  lostBlocks: number;
}

/**
 * Index key of the origin id `canopy ingest` writes into manifests it makes before the node
 * on that data directory has joined (and so has no certificate id): the node treats contents
 * with this origin as its own.
 */
export const LOCAL_INGEST_ID = 'nodeId';
