/**
 * Gauges of the process itself, read at scrape time: the V8 heap and the memory outside it.
 * RSS alone cannot tell a leak in JavaScript objects (heap used grows) from buffers held by
 * native code (external, array buffers) or from the allocator keeping freed pages: an
 * operator watching for leaks (docs/OPERATIONS.md) and the soak bench read these.
 */
import type { MetricFamily } from './metrics.js';

export function processGauges(memory: NodeJS.MemoryUsage = process.memoryUsage()): MetricFamily[] {
  const gauge = (name: string, help: string, value: number): MetricFamily => ({ name, help, type: 'gauge', samples: [{ labels: {}, value }] });
  return [
    gauge('canopy_process_resident_memory_bytes', 'Resident set size of this process.', memory.rss),
    gauge('canopy_process_heap_used_bytes', 'V8 heap in use (JavaScript objects).', memory.heapUsed),
    gauge('canopy_process_heap_total_bytes', 'V8 heap reserved.', memory.heapTotal),
    gauge('canopy_process_external_bytes', 'Memory of buffers and native objects owned by JavaScript objects, outside the V8 heap.', memory.external),
    gauge('canopy_process_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers (part of external).', memory.arrayBuffers),
  ];
}
