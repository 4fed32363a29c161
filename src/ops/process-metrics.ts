/**
 * Gauges of the process itself, read at scrape time: the V8 heap and the memory outside it.
 * RSS alone cannot tell a leak in JavaScript objects (heap used grows) from buffers held by
 * native code (external, array buffers) or from the allocator keeping freed pages: an
 * operator watching for leaks (docs/OPERATIONS.md) and the soak bench read these.
 */
import { blockPool, type BlockPoolStats } from '../core/block-pool.js';
import type { MetricFamily } from './metrics.js';

export function processGauges(memory: NodeJS.MemoryUsage = process.memoryUsage(), pool: BlockPoolStats = blockPool.stats()): MetricFamily[] {
  const gauge = (name: string, help: string, value: number): MetricFamily => ({ name, help, type: 'gauge', samples: [{ labels: {}, value }] });
  return [
    gauge('canopy_process_resident_memory_bytes', 'Resident set size of this process.', memory.rss),
    gauge('canopy_process_heap_used_bytes', 'V8 heap in use (JavaScript objects).', memory.heapUsed),
    gauge('canopy_process_heap_total_bytes', 'V8 heap reserved.', memory.heapTotal),
    gauge('canopy_process_external_bytes', 'Memory of buffers and native objects owned by JavaScript objects, outside the V8 heap.', memory.external),
    gauge('canopy_process_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers (part of external).', memory.arrayBuffers),
    ...blockPoolGauges(pool),
  ];
}

/** The block buffer pool (core/block-pool.ts): what it keeps idle, its bound, and how often it saved an allocation. */
export function blockPoolGauges(pool: BlockPoolStats): MetricFamily[] {
  const family = (name: string, help: string, type: 'gauge' | 'counter', value: number): MetricFamily => ({ name, help, type, samples: [{ labels: {}, value }] });
  return [
    family('canopy_block_pool_free_bytes', 'Idle block buffers kept for reuse.', 'gauge', pool.freeBytes),
    family('canopy_block_pool_free_buffers', 'Number of idle block buffers kept for reuse.', 'gauge', pool.freeBuffers),
    family('canopy_block_pool_max_bytes', 'Bound on idle block buffers (CANOPY_BLOCK_POOL).', 'gauge', pool.maxBytes),
    family('canopy_block_pool_leased_buffers', 'Block buffers in use (a read, a send, the block cache).', 'gauge', pool.leased),
    family('canopy_block_pool_leased_bytes', 'Bytes of the block buffers in use (sizes rounded up).', 'gauge', pool.leasedBytes),
    family('canopy_block_pool_reused_total', 'Block buffers taken from the pool instead of allocated.', 'counter', pool.reused),
    family('canopy_block_pool_allocated_total', 'Block buffers allocated because the pool had none of the size.', 'counter', pool.allocated),
    family('canopy_block_pool_dropped_total', 'Released block buffers not used again because the pool was full.', 'counter', pool.dropped),
    family('canopy_block_pool_trimmed_bytes_total', 'Idle block buffer bytes given back to the system after a quiet period.', 'counter', pool.trimmedBytes),
    family('canopy_block_pool_lost_total', 'Block buffers collected without being released (a path that forgets; harmless).', 'counter', pool.lost),
  ];
}
