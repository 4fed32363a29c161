/**
 * Page-aligned buffers. JavaScript cannot ask for an aligned Buffer, but a WebAssembly
 * memory starts on a page boundary; a buffer cut from one at a multiple of 4 KiB can be
 * written to a file opened with O_DIRECT as it is, with no copy into an aligned staging
 * buffer first (store/direct-write.ts). The memories made here are remembered, so a writer
 * can tell such a buffer from any other.
 */
const WASM_PAGE = 65536;
export const PAGE_ALIGN = 4096;

const aligned = new WeakSet<ArrayBufferLike>();

/**
 * `count` buffers of `size` bytes, each starting on a page boundary, in one memory
 * (`shared`: a SharedArrayBuffer, so worker threads can read them in place). Pages are
 * only committed when touched. Falls back to ordinary (unaligned) memory if the engine
 * refuses the reservation.
 */
export function alignedBuffers(size: number, count: number, shared: boolean): Buffer[] {
  const stride = Math.ceil(size / PAGE_ALIGN) * PAGE_ALIGN;
  const pages = Math.max(1, Math.ceil((stride * count) / WASM_PAGE));
  let memory: ArrayBufferLike;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared }).buffer;
    aligned.add(memory);
  } catch {
    memory = shared ? new SharedArrayBuffer(stride * count) : new ArrayBuffer(stride * count);
  }
  return Array.from({ length: count }, (_, i) => Buffer.from(memory, i * stride, size));
}

/** Whether `data` starts on a page boundary of memory made by alignedBuffers. */
export function isPageAligned(data: Uint8Array): boolean {
  return aligned.has(data.buffer) && data.byteOffset % PAGE_ALIGN === 0;
}
