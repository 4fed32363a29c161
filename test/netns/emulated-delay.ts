/**
 * Latency emulation for multi-host tests, because this kernel has no netem: preloaded with
 * `node --import` into a test node's process (never part of the product), it holds every
 * TCP write to a non-loopback address for CANOPY_EMULATED_DELAY_MS milliseconds before
 * handing it to the socket. Everything the node sends then arrives that much later, so peers
 * measure a round trip longer by the delay, as if the node were farther away. Order is kept
 * (timers of equal delay fire in order) and backpressure is kept: write() reports false while
 * delayed bytes plus the socket's own buffer exceed its high-water mark, and 'drain' follows.
 */
import net from 'node:net';

const delayMs = Number(process.env.CANOPY_EMULATED_DELAY_MS ?? 0);

type WriteCb = (err?: Error | null) => void;
const held = new WeakMap<net.Socket, { bytes: number; needDrain: boolean }>();
const original = net.Socket.prototype.write as (this: net.Socket, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

function isLoopback(socket: net.Socket): boolean {
  const addr = socket.remoteAddress ?? '';
  return addr.startsWith('127.') || addr === '::1' || addr === '';
}

if (delayMs > 0) {
  net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (isLoopback(this)) return original.call(this, chunk, encoding, cb);
    const callback = (typeof encoding === 'function' ? encoding : cb) as WriteCb | undefined;
    const enc = typeof encoding === 'function' ? undefined : encoding;
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
    const state = held.get(this) ?? { bytes: 0, needDrain: false };
    held.set(this, state);
    state.bytes += size;
    setTimeout(() => {
      state.bytes -= size;
      if (this.destroyed) return callback?.(new Error('socket destroyed'));
      const ok = original.call(this, chunk, enc, callback);
      if (ok && state.needDrain && state.bytes === 0) {
        state.needDrain = false;
        this.emit('drain');
      }
    }, delayMs);
    const ok = state.bytes + this.writableLength < this.writableHighWaterMark;
    if (!ok) state.needDrain = true;
    return ok;
  } as typeof net.Socket.prototype.write;
}
