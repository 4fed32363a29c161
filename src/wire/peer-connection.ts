/**
 * One peer connection over any duplex stream: request/reply with ids, one-way messages,
 * bounded concurrency for incoming requests (reading pauses when the queue is full, so a
 * peer cannot make us hold more than a few blocks in memory), and writes that wait for
 * `drain` so slow readers push back on us instead of filling our heap.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { byteLength, isOwnedPiece, type BlockBytes, type OwnedPiece } from '../core/block-bytes.js';
import { CanopyError, errorFromJSON, isCanopyError } from '../core/errors.js';
import type { Pending, Reply, TakePart } from './pending-reply.js';

export type { Reply, TakePart } from './pending-reply.js';
import { CopyingFrameDecoder } from './frame-copier.js';
import { DecodedFrame, encodeFrame, FrameDecoder, MAX_PAYLOAD_BYTES, type Frame } from './frame-codec.js';
import { checkBody, isMessageType, type MessageBodies, type MessageType } from './messages.js';
import { reusedReadsOf } from './reused-reads.js';
import { writeInPieces } from './tls-writes.js';
import { authenticatedPeerId } from './transport.js';

export const REQUEST_TIMEOUT_MS = 60_000;
export const MAX_INCOMING_IN_FLIGHT = 8;
/** A frame, once started, must arrive whole within this time (64 MiB at ~1 MB/s): slow senders are cut. */
export const FRAME_TIMEOUT_MS = 60_000;
/** Incoming requests per second per connection, with a burst allowance; beyond it reading pauses. */
export const REQUEST_RATE = 1000;
export const REQUEST_BURST = 2000;
/** Frames with a payload this large are bulk (blocks): they queue behind each other, never ahead of control frames. */
export const BULK_FRAME_BYTES = 64 * 1024;

export interface PeerConnectionLimits {
  frameTimeoutMs?: number;
  requestRate?: number;
  requestBurst?: number;
}

export interface IncomingRequest<T extends MessageType = MessageType> {
  type: T;
  body: MessageBodies[T];
  payload: Buffer;
  conn: PeerConnection;
}

/**
 * `sent` (if given) runs once the reply has been written out, or failed to be: uploads hold
 * their slot until then. `pieces`: the payload is sent as it comes, each piece in a `part`
 * frame, then `ok` (a block relayed while it is still arriving, docs/PROTOCOL.md); an error
 * thrown meanwhile ends the reply with `err` and the requester drops what it got.
 * `flushed` (if given) runs once the socket no longer refers to the reply's bytes: from the
 * last frame's write callback, or once the connection has closed if that frame was never
 * written. A payload from the block pool goes back to it then (core/block-pool.ts); `sent`
 * comes earlier, when the bytes may still sit in the socket's queue.
 */
export type RequestHandler = (req: IncomingRequest) => Promise<{ body?: Record<string, unknown>; payload?: Buffer; pieces?: AsyncIterable<BlockBytes | OwnedPiece>; sent?: () => void; flushed?: () => void } | void>;


export class PeerConnection extends EventEmitter<{ close: [Error | undefined] }> {
  /** The node id the transport authenticated (the TLS certificate's), if any. */
  readonly transportPeerId: string | undefined;
  /** Identity and attributes of the remote node once `hello` is attested (certificate + root-signed record). */
  remoteId: string | undefined;
  remoteAttrs: Record<string, string> = {};
  /** When bytes last arrived from the peer (epoch ms): a block still arriving is progress, not a stall. */
  lastReceivedAt = Date.now();
  private frameTimer: NodeJS.Timeout | undefined;
  private drained: Promise<void> | undefined;
  /** Settles when the last bulk frame queued so far has been handed to the stream. */
  private bulkTail: Promise<void> = Promise.resolve();
  private tokens: number;
  private lastRefill = Date.now();
  private throttled: NodeJS.Timeout | undefined;
  private readonly limits: Required<PeerConnectionLimits>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder: { push(chunk: Buffer): readonly Frame[]; readonly pending: number };
  private inFlight = 0;
  private readonly queue: { header: Record<string, unknown>; payload: Buffer }[] = [];
  private closed = false;

  constructor(
    private readonly stream: Duplex,
    private readonly handler: RequestHandler,
    limits: PeerConnectionLimits = {},
  ) {
    super();
    this.limits = { frameTimeoutMs: limits.frameTimeoutMs ?? FRAME_TIMEOUT_MS, requestRate: limits.requestRate ?? REQUEST_RATE, requestBurst: limits.requestBurst ?? REQUEST_BURST };
    this.tokens = this.limits.requestBurst;
    this.transportPeerId = authenticatedPeerId(stream);
    // A dialled socket reads into buffers we choose: a block's payload straight into its
    // pooled segments, the rest into one reused buffer the decoder copies out of.
    const reads = reusedReadsOf(stream);
    if (reads) {
      const decoder = new CopyingFrameDecoder();
      this.decoder = decoder;
      reads.listen({
        bytes: (chunk) => this.onData(chunk),
        target: () => this.readTarget(decoder),
        placed: (target, n) => this.onPlaced(decoder, target, n),
      });
    } else {
      this.decoder = new FrameDecoder();
      stream.on('data', (chunk: Buffer) => this.onData(chunk));
    }
    stream.on('error', (err) => this.destroy(err));
    stream.on('close', () => this.destroy());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * `onPart` sees each piece of a reply sent in `part` frames as it arrives (the reply still
   * carries them all). `takePart` instead takes each piece and the pooled buffers behind it
   * (released by the taker, exactly once each): the reply then carries only its last frame.
   */
  async request<T extends MessageType>(type: T, body: MessageBodies[T], options: { payload?: Buffer; timeoutMs?: number; signal?: AbortSignal; onPart?: (parts: readonly Buffer[]) => void; takePart?: TakePart } = {}): Promise<Reply> {
    if (this.closed) throw new CanopyError('ERR_CONNECTION_CLOSED', 'connection is closed');
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const signal = options.signal;
    const reply = new Promise<Reply>((resolve, reject) => {
      // The abort listener goes when the request settles: a signal shared by many requests
      // (a download session's) must not collect one listener per request.
      const onAbort = () => this.fail(id, signal!.reason instanceof Error ? signal!.reason : new CanopyError('ERR_TIMEOUT', 'request aborted'));
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        signal?.removeEventListener('abort', onAbort);
        f(v);
      };
      const timer = setTimeout(() => this.fail(id, new CanopyError('ERR_TIMEOUT', `${type} request got no answer within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject), timer, parts: [], leases: [], partBytes: 0, onPart: options.onPart, takePart: options.takePart });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
    // A close while the request still waits to be written rejects the reply before anyone
    // awaits it: without a handler now, that is an unhandled rejection, which ends the process.
    reply.catch(() => undefined);
    try {
      await this.write({ ...body, t: type, id }, options.payload);
    } catch (err) {
      // Never sent: the reply settles with the write's error (its timer and abort listener go), which the caller gets.
      this.fail(id, err as Error);
      throw err;
    }
    return reply;
  }

  /** Ends a request still waiting for its reply with `err` (a no-op once it has settled). */
  private fail(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.reject(err);
  }

  /** A one-way message: no reply is expected. */
  async notify<T extends MessageType>(type: T, body: MessageBodies[T]): Promise<void> {
    await this.write({ ...body, t: type });
  }

  destroy(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CanopyError('ERR_CONNECTION_CLOSED', `connection closed${err ? `: ${err.message}` : ''}`, { cause: err }));
    }
    this.pending.clear();
    clearTimeout(this.frameTimer);
    clearTimeout(this.throttled);
    this.stream.destroy();
    this.emit('close', err);
  }

  /** `flushed`: see RequestHandler; called exactly once, whether the frame is written or not. */
  private async write(header: Record<string, unknown>, payload?: BlockBytes, flushed?: () => void): Promise<void> {
    if (this.closed) {
      if (flushed) this.afterClose(flushed);
      throw new CanopyError('ERR_CONNECTION_CLOSED', 'connection is closed');
    }
    if ((payload ? byteLength(payload) : 0) < BULK_FRAME_BYTES) return this.put(header, payload, flushed);
    // Bulk frames (blocks) take turns, and each waits until the one before has left our
    // buffer: control frames (tree heartbeats, have, cancel, load) written meanwhile go out
    // after at most one block instead of behind every block being sent on this connection.
    const before = this.bulkTail;
    let release!: () => void;
    this.bulkTail = new Promise<void>((resolve) => (release = resolve));
    let handed = false;
    try {
      await before;
      while (this.stream.writableNeedDrain && !this.closed) await this.drain();
      if (this.closed) throw new CanopyError('ERR_CONNECTION_CLOSED', 'connection is closed');
      handed = true;
      await this.put(header, payload, flushed);
    } finally {
      if (!handed && flushed) this.afterClose(flushed);
      release();
    }
  }

  private async put(header: Record<string, unknown>, payload?: BlockBytes, flushed?: () => void): Promise<void> {
    let ok = true;
    const parts = encodeFrame(header, payload);
    // Write callbacks come in order: the last part's comes when the socket is done with all of them.
    const write = (part: Buffer, last: boolean) => (ok = last && flushed ? this.stream.write(part, () => flushed()) : this.stream.write(part));
    if (parts.length === 2 && parts[1]!.length >= BULK_FRAME_BYTES) {
      // A block in one buffer: the head, then the block in pieces (WRITE_PIECE_BYTES), each
      // written alone. Head and block corked into one writev, node:tls
      // would first copy both into one fresh block-sized buffer (TLSWrap::DoWrite joins the
      // buffers of a writev before encrypting): a copy and page faults per block sent, for
      // one small record saved.
      write(parts[0]!, false);
      ok = writeInPieces(this.stream, parts[1]!, flushed);
    } else {
      // Head and small payload (or the many pieces of a relayed block) as one writev: one run
      // of TLS records instead of a record per piece.
      this.stream.cork();
      parts.forEach((part, i) => write(part, i === parts.length - 1));
      this.stream.uncork();
    }
    if (!ok && !this.closed) await this.drain();
  }

  /** Runs `fn` once the stream has closed (then nothing it was given is referenced any more). */
  private afterClose(fn: () => void): void {
    if (this.stream.closed) fn();
    else this.stream.once('close', fn);
  }

  /** One shared wait per congestion episode, however many writers are queued behind it. */
  private drain(): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        this.drained = undefined;
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
    return this.drained;
  }

  private onData(chunk: Buffer): void {
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      return this.destroy(err as Error);
    }
    this.onFrames(frames);
  }

  /** Bytes the socket read in place, into the segment `readTarget` gave. */
  private onPlaced(decoder: CopyingFrameDecoder, target: Buffer, n: number): void {
    let frames;
    try {
      frames = decoder.placed(target, n);
    } catch (err) {
      return this.destroy(err as Error);
    }
    this.onFrames(frames);
  }

  private onFrames(frames: readonly Frame[]): void {
    this.lastReceivedAt = Date.now();
    for (const frame of frames) this.onFrame(frame);
    this.watchPartialFrame();
  }

  /** Where the socket reads next (see ReadSink): never throws into node:net, which would crash the process. */
  private readTarget(decoder: CopyingFrameDecoder): Buffer | undefined {
    if (this.closed) return undefined;
    try {
      return decoder.readTarget();
    } catch (err) {
      this.destroy(err as Error);
      return undefined;
    }
  }

  /** Starts the clock when a frame begins and stops it when no partial frame is left. */
  private watchPartialFrame(): void {
    if (this.decoder.pending === 0) {
      clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
    } else if (!this.frameTimer && !this.closed) {
      this.frameTimer = setTimeout(() => this.destroy(new CanopyError('ERR_TIMEOUT', `a frame took longer than ${this.limits.frameTimeoutMs} ms to arrive`)), this.limits.frameTimeoutMs);
      this.frameTimer.unref();
    }
  }

  /** Token bucket over incoming requests: a flooding peer is slowed down, not served faster than the rate. */
  private takeToken(): void {
    const now = Date.now();
    this.tokens = Math.min(this.limits.requestBurst, this.tokens + ((now - this.lastRefill) * this.limits.requestRate) / 1000);
    this.lastRefill = now;
    this.tokens -= 1;
    if (this.tokens >= 0 || this.throttled || this.closed) return;
    this.stream.pause();
    const waitMs = Math.ceil((-this.tokens * 1000) / this.limits.requestRate);
    this.throttled = setTimeout(() => {
      this.throttled = undefined;
      if (!this.closed && this.queue.length < MAX_INCOMING_IN_FLIGHT) this.stream.resume();
    }, waitMs);
  }

  private onFrame(frame: Frame): void {
    const header = frame.header;
    if (typeof header.re === 'number') {
      const p = this.pending.get(header.re);
      if (!p) return frame.release(); // A reply that arrives after its timeout is dropped; nobody saw it.
      if (header.t === 'part') {
        // One piece of a reply still coming: kept (views, no copy) and shown to whoever relays it.
        // A reply in pieces is bounded like one frame, so a peer cannot grow it without end.
        p.partBytes += byteLength(frame.parts);
        if (p.partBytes > MAX_PAYLOAD_BYTES) return this.destroy(new CanopyError('ERR_WIRE_TOO_LARGE', `a reply in parts exceeds ${MAX_PAYLOAD_BYTES} bytes`));
        if (p.takePart) return p.takePart(frame.parts, frame instanceof DecodedFrame ? frame.held : []);
        for (const b of frame.parts) p.parts.push(b);
        if (frame instanceof DecodedFrame) p.leases.push(...frame.held);
        p.onPart?.(frame.parts);
        return;
      }
      this.pending.delete(header.re);
      clearTimeout(p.timer);
      if (header.t !== 'ok') p.reject(errorFromJSON(header, 'ERR_WIRE_PROTOCOL'));
      else p.resolve(p.parts.length === 0 ? frame : new DecodedFrame(frame.header, [...p.parts, ...frame.parts], frame instanceof DecodedFrame ? [...p.leases, ...frame.held] : p.leases));
      return;
    }
    this.takeToken();
    this.queue.push({ header, payload: frame.payload });
    if (this.queue.length >= MAX_INCOMING_IN_FLIGHT) this.stream.pause();
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < MAX_INCOMING_IN_FLIGHT && this.queue.length > 0) {
      const { header, payload } = this.queue.shift()!;
      this.inFlight++;
      void this.handle(header, payload).finally(() => {
        this.inFlight--;
        if (this.queue.length < MAX_INCOMING_IN_FLIGHT && !this.closed && !this.throttled) this.stream.resume();
        this.pump();
      });
    }
  }

  /** Each piece in its own `part` frame: control frames and other replies' pieces go between them. */
  private async writePieces(id: number, pieces: AsyncIterable<BlockBytes | OwnedPiece>): Promise<void> {
    for await (const piece of pieces) {
      // write() owns an owned piece's `flushed` from here, closed connection included.
      if (isOwnedPiece(piece)) await this.write({ t: 'part', re: id }, piece.bytes, piece.flushed);
      else if (this.closed) throw new CanopyError('ERR_CONNECTION_CLOSED', 'connection is closed');
      else await this.write({ t: 'part', re: id }, piece);
    }
  }

  private async handle(header: Record<string, unknown>, payload: Buffer): Promise<void> {
    const id = typeof header.id === 'number' ? header.id : undefined;
    let flushed: (() => void) | undefined;
    try {
      if (!isMessageType(header.t)) throw new CanopyError('ERR_WIRE_PROTOCOL', `unknown message type ${JSON.stringify(header.t)?.slice(0, 40)}`);
      const body = checkBody(header.t, header);
      const result = await this.handler({ type: header.t, body, payload, conn: this } as IncomingRequest);
      flushed = result?.flushed;
      try {
        if (id !== undefined && result?.pieces) await this.writePieces(id, result.pieces);
        if (id !== undefined && !this.closed) {
          const f = flushed;
          flushed = undefined; // write() owns it now.
          await this.write({ ...(result?.body ?? {}), t: 'ok', re: id }, result?.payload, f);
        }
      } finally {
        result?.sent?.();
      }
    } catch (err) {
      const e = isCanopyError(err) ? err : new CanopyError('ERR_WIRE_PROTOCOL', `request failed: ${(err as Error).message}`);
      if (id !== undefined && !this.closed) await this.write({ t: 'err', re: id, code: e.code, message: e.message }, undefined, flushed).catch(() => undefined);
      else if (id === undefined && e.code === 'ERR_WIRE_PROTOCOL') this.destroy(e);
      else if (flushed) this.afterClose(flushed);
      flushed = undefined;
    } finally {
      // Nothing of the reply was handed to the socket: its bytes are free now.
      if (flushed && !this.closed) flushed();
      else if (flushed) this.afterClose(flushed);
    }
  }
}
