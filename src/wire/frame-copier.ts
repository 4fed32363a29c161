/**
 * The frame decoder for streams that read into one reused buffer (reused-reads.ts): each
 * chunk it is given is valid only during the call, so what a frame keeps is copied out, the
 * payload into block-pool buffers of at most SEGMENT_BYTES each (core/block-pool.ts). Node
 * otherwise hands every 16 KiB TLS record to JavaScript in a fresh buffer, and V8 counts
 * those bytes against its old-generation limit: a node receiving blocks ran a full
 * mark-compact every 10-14 MiB (notes/issue-25.md, Session 8). Reused buffers cost V8 nothing.
 *
 * The payload goes into segments allocated as its bytes arrive, not at once when its length
 * is announced, so a peer that announces 64 MiB and sends nothing makes us hold at most one.
 * The frame's `release()` gives the segments back; whoever holds a view of them must be done
 * with it by then (see Reply in peer-connection.ts). A frame nobody releases is collected.
 * Same limits and errors as FrameDecoder (frame-codec.ts).
 *
 * Read in place: while a payload of at least DIRECT_READ_MIN bytes is still due, the socket
 * may read straight into the free room of its current segment (`readTarget`, then `placed`;
 * reused-reads.ts): the bytes then arrive once, from the kernel or from TLS, where they stay,
 * instead of being copied again out of the reused buffer (that copy, `_copyActual`, was
 * 6.5-8.4 % of a swarm node's profile; ≤ 0.8 % now, but most of its cost was the first write
 * into the segment's memory, which TLS's own copy pays now: notes/issue-15.md, Session 12).
 * A segment in progress is never given back while the socket may still read into it: only
 * whole frames' segments are released.
 */
import { blockPool, type Lease } from '../core/block-pool.js';
import { DecodedFrame, MAX_HEADER_BYTES, MAX_PAYLOAD_BYTES, parseHeader, PREFIX, checkPrefix, type Frame } from './frame-codec.js';

/** Largest payload segment: a block of a few MiB arrives as a few pooled buffers. */
export const SEGMENT_BYTES = 2 ** 20;
/**
 * Below this many payload bytes still due, reads go to the reused buffer: a frame's last few
 * bytes then share one read with the next frame's head (one syscall on plain TCP, not two).
 */
export const DIRECT_READ_MIN = 16 * 1024;

const NONE: readonly Frame[] = Object.freeze([]);

export class CopyingFrameDecoder {
  private readonly prefix = Buffer.allocUnsafe(PREFIX);
  private prefixFill = 0;
  /** Header bytes of the frame in progress (allocated once its length is known). */
  private head: Buffer | undefined;
  private headFill = 0;
  private header: Record<string, unknown> | undefined;
  private payloadLeft = 0;
  private parts: Buffer[] = [];
  private leases: Lease[] = [];
  private segment: Buffer | undefined;
  private segmentFill = 0;
  private partial = 0;
  /** The room last handed out by readTarget(), until placed() or the next readTarget(). */
  private target: Buffer | undefined;

  constructor(
    private readonly maxHeader = MAX_HEADER_BYTES,
    private readonly maxPayload = MAX_PAYLOAD_BYTES,
  ) {}

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.partial;
  }

  /** Feeds bytes that are valid only during this call; returns every frame completed by them. */
  push(chunk: Buffer): Frame[] {
    this.target = undefined; // Bytes came the other way: a stale target must not be placed into.
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length || (this.header && this.payloadLeft === 0)) {
      const before = at;
      if (!this.header) at = this.readHead(chunk, at);
      else if (this.payloadLeft > 0) at = this.readPayload(chunk, at);
      this.partial += at - before;
      if (this.header && this.payloadLeft === 0) frames.push(this.finish());
    }
    return frames;
  }

  /** Prefix, then header: parsed once whole. Returns where the chunk's unread bytes start. */
  private readHead(chunk: Buffer, at: number): number {
    if (this.prefixFill < PREFIX) {
      const n = chunk.copy(this.prefix, this.prefixFill, at, at + PREFIX - this.prefixFill);
      this.prefixFill += n;
      at += n;
      if (this.prefixFill < PREFIX) return at;
      const { headerLen, payloadLen } = checkPrefix(this.prefix, this.maxHeader, this.maxPayload);
      this.head = Buffer.allocUnsafe(headerLen);
      this.headFill = 0;
      this.payloadLeft = payloadLen;
    }
    const head = this.head!;
    const n = chunk.copy(head, this.headFill, at, at + head.length - this.headFill);
    this.headFill += n;
    if (this.headFill === head.length) this.header = parseHeader(head);
    return at + n;
  }

  /**
   * Where the next read may put its bytes: the free room of the payload's current segment
   * (taken from the pool now if need be), or undefined (read into the reused buffer and push).
   */
  readTarget(): Buffer | undefined {
    this.target = undefined;
    if (!this.header || this.payloadLeft < DIRECT_READ_MIN) return undefined;
    const segment = this.currentSegment();
    this.target = this.segmentFill === 0 ? segment : segment.subarray(this.segmentFill);
    return this.target;
  }

  /** A read put `n` bytes at the start of `target`, which must be the last readTarget(); returns the frame it completed, if any. */
  placed(target: Buffer, n: number): readonly Frame[] {
    if (target !== this.target || n > target.length) throw new Error('bytes were read into a buffer the frame decoder did not hand out');
    this.target = undefined;
    this.partial += n;
    this.filled(n);
    return this.payloadLeft === 0 ? [this.finish()] : NONE;
  }

  private currentSegment(): Buffer {
    if (!this.segment) {
      const lease = blockPool.take(Math.min(this.payloadLeft, SEGMENT_BYTES));
      this.leases.push(lease);
      this.segment = lease.bytes;
      this.segmentFill = 0;
    }
    return this.segment;
  }

  private readPayload(chunk: Buffer, at: number): number {
    const segment = this.currentSegment();
    const n = chunk.copy(segment, this.segmentFill, at, Math.min(chunk.length, at + segment.length - this.segmentFill));
    this.filled(n);
    return at + n;
  }

  private filled(n: number): void {
    this.segmentFill += n;
    this.payloadLeft -= n;
    if (this.segmentFill === this.segment!.length) {
      this.parts.push(this.segment!);
      this.segment = undefined;
    }
  }

  private finish(): Frame {
    const frame = new DecodedFrame(this.header!, this.parts, this.leases);
    this.header = undefined;
    this.head = undefined;
    this.prefixFill = 0;
    this.parts = [];
    this.leases = [];
    this.partial = 0;
    return frame;
  }
}
