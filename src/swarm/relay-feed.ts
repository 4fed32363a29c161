/**
 * Cut-through relay: a node forwards a block to others while it is still receiving it,
 * instead of only once it is whole (docs/SWARM.md, "Cut-through relay"). Blocks are
 * verified by hash only when whole, so what is relayed before that is *unverified* and
 * treated as such everywhere (docs/SECURITY.md):
 * - relayed bytes never touch the store: the relaying node stores the block only once its
 *   own copy matched the manifest's hash, and the receiver likewise verifies the whole
 *   block before storing or serving it, dropping it on a mismatch;
 * - the piece that would complete the block is held back until the relaying node has
 *   verified it: nobody receives a whole block from a relay that the relay has not checked.
 *   If its copy fails (corrupt, or its source went away), every reader's reply ends with
 *   `ERR_RELAY_ABORTED` and the receiver drops the partial bytes; an honest relay is thus
 *   never blamed for a corrupt source (a bad relay still is, by the receiver's own hash).
 *
 * `RelayFeed` is one block in flight at this node (the node's feeds by content: relay-feeds.ts).
 */
import { byteLength, type BlockBytes, type OwnedPiece } from '../core/block-bytes.js';
import type { Lease } from '../core/block-pool.js';
import { CanopyError } from '../core/errors.js';

/** Largest piece on the wire for a block sent in parts: the unit of cut-through. */
export const PIECE_BYTES = 256 * 1024;

/**
 * The piece size for a block: a quarter of it, between 64 KiB (smaller frames cost more
 * than they gain) and PIECE_BYTES, so even a small block is relayed in several pieces.
 */
export function pieceBytes(blockLength: number): number {
  return Math.min(PIECE_BYTES, Math.max(64 * 1024, Math.ceil(blockLength / 4)));
}

/**
 * Bytes [from, length) of the block as stored here, in pieces that carry their `flushed`
 * (store/block-reads.ts); undefined when the store cannot give them (the feed then finishes
 * from the received bytes).
 */
export type StoredRest = (from: number) => AsyncIterable<OwnedPiece> | undefined;

/** Bytes [from, to) of the block as written so far, unverified (store/block-intake.ts `read`). */
export type WrittenBytes = (from: number, to: number) => AsyncIterable<OwnedPiece>;

/**
 * A piece as received: its views and, for a block written as it arrives, the pooled
 * buffers behind them, of which the feed holds a share until the piece is in the block's
 * temp file (`spilled`: read from there since).
 */
interface Received {
  views: readonly Buffer[];
  leases: readonly Lease[] | undefined;
  at: number;
  spilled: boolean;
}

export class RelayFeed {
  /** Unverified pieces from the upstream copy, in order. */
  private readonly pieces: Received[] = [];
  /** How many pieces from the start are spilled, how many are in the temp file, and where it is read. */
  private spilledCount = 0;
  private writtenCount = 0;
  private written: WrittenBytes | undefined;
  /**
   * Where each reader is: the next piece it takes. A piece is spilled once every reader took it;
   * a reader is here until it is done, so these are also the readers whose socket may hold bytes.
   */
  private readonly cursors = new Set<{ next: number }>();
  private receivedBytes = 0;
  /** The verified block, once held (from this copy or another). */
  private whole: readonly Buffer[] | undefined;
  /** Where readers still behind at verification read the rest: the store, not the received buffers. */
  private rest: StoredRest | undefined;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private waiting: Promise<void> | undefined;
  /** Bytes handed to readers, for the metrics. */
  relayed = 0;
  /** Who waits for no reader to hold any of the received bytes. */
  private unread: (() => void)[] = [];

  constructor(readonly length: number) {}

  get received(): number {
    return this.receivedBytes;
  }

  get ended(): boolean {
    return this.whole !== undefined || this.failure !== undefined;
  }

  /** An unverified piece arrived from upstream; with `leases`, the feed keeps a share of them until `spill` or its end. */
  push(parts: readonly Buffer[], leases?: readonly Lease[]): void {
    if (this.ended) return;
    for (const l of leases ?? []) l.retain();
    this.pieces.push({ views: parts, leases, at: this.receivedBytes, spilled: false });
    this.receivedBytes += byteLength(parts);
    this.notify();
  }

  /**
   * Bytes [0, upTo) are in the block's temp file, which `written` reads: the feed gives back
   * its share of those pieces' buffers once every reader has taken them (a reader lent a piece
   * holds its own share), and a reader that comes later reads them from the file. Spilling a
   * piece as soon as it was written cost a swarm member ~10 % more CPU: most relayed pieces
   * were then read back from the disk by readers a few milliseconds behind.
   */
  spill(upTo: number, written: WrittenBytes): void {
    this.written = written;
    while (this.writtenCount < this.pieces.length) {
      const p = this.pieces[this.writtenCount]!;
      if (p.at + byteLength(p.views) > upTo) break;
      this.writtenCount++;
    }
    this.spillTaken();
  }

  private spillTaken(): void {
    let upTo = this.writtenCount;
    for (const c of this.cursors) upTo = Math.min(upTo, c.next);
    for (; this.spilledCount < upTo; this.spilledCount++) this.giveBack(this.pieces[this.spilledCount]!);
  }

  private giveBack(p: Received): void {
    if (p.spilled) return;
    p.spilled = true;
    for (const l of p.leases ?? []) l.release();
  }

  /**
   * The block verified and stored: readers get the rest from `rest` (the store) if given,
   * else from these bytes. Read from the store, a reader behind lets go of the received
   * buffers as soon as its socket has sent what it had of them: a stored block's 4 MiB no
   * longer wait for the slowest reader to send its tail (notes/issue-15.md, Session 19).
   */
  complete(whole: BlockBytes, rest?: StoredRest): void {
    if (this.ended) return;
    this.whole = Buffer.isBuffer(whole) ? [whole] : (whole as readonly Buffer[]);
    this.rest = rest;
    this.ending();
  }

  /** This node's copy failed (corrupt, source gone, session ended): every reader's reply ends with ERR_RELAY_ABORTED. */
  abort(why: string): void {
    if (this.ended) return;
    this.failure = new CanopyError('ERR_RELAY_ABORTED', `relay of a block still arriving here stopped: ${why}`);
    this.ending();
  }

  /** Ended: the feed's shares of received buffers go back (readers hold their own for what they sent). */
  private ending(): void {
    for (const p of this.pieces) if (p.leases) this.giveBack(p);
    this.notify();
  }

  /**
   * One reader: its pieces (read()), and `done`, to call once nothing it was given is
   * referenced any more (its socket has flushed the reply, or closed). The bytes are the
   * receiving request's pooled buffers, given back only when every reader is done (whenUnread).
   */
  reader(): { pieces: AsyncGenerator<BlockBytes | OwnedPiece>; done: () => void } {
    let holds = true;
    const cursor = { next: 0 };
    this.cursors.add(cursor);
    const letGo = () => {
      if (!holds) return;
      holds = false;
      this.cursors.delete(cursor);
      this.spillTaken();
      if (this.cursors.size > 0) return;
      const waiting = this.unread;
      this.unread = [];
      for (const fn of waiting) fn();
    };
    return { pieces: this.read(letGo, cursor), done: letGo };
  }

  /** Runs `fn` once no reader holds any of the received bytes (now if none does). Only for a feed no new reader can find (ended and removed). */
  whenUnread(fn: () => void): void {
    if (this.cursors.size === 0) fn();
    else this.unread.push(fn);
  }

  /**
   * The block's bytes for one reader, in pieces as they become available: unverified
   * upstream pieces except the one that would complete the block, then (once verified) the
   * rest. Throws ERR_RELAY_ABORTED if this node's copy fails first. `letGo`: called once
   * this reader no longer refers to the received bytes (its socket has sent them).
   */
  async *read(letGo?: () => void, cursor?: { next: number }): AsyncGenerator<BlockBytes | OwnedPiece> {
    let sent = 0;
    let next = 0;
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.whole) {
        const stored = this.storedFrom(sent);
        if (stored) return yield* this.readStored(stored, letGo);
        if (byteLength(this.whole) < this.length) throw new CanopyError('ERR_RELAY_ABORTED', 'the block is no longer readable here: ask again');
        for (const piece of slices(this.whole, sent, this.length, pieceBytes(this.length))) {
          this.relayed += byteLength(piece);
          yield piece;
        }
        return;
      }
      // Once the block is stored, a reader behind stops taking received pieces (the store serves the rest).
      while (next < this.pieces.length && !(this.whole && this.rest)) {
        const piece = this.pieces[next]!;
        const size = byteLength(piece.views);
        // The completing piece waits for verification (the whole-block branch above sends it).
        if (sent + size >= this.length) break;
        next++;
        sent += size;
        this.relayed += size;
        if (piece.spilled) {
          // The spilled pieces that follow are read with it: one open and few reads for the lot.
          let end = piece.at + size;
          for (let q = this.pieces[next]; q?.spilled && sent + byteLength(q.views) < this.length; q = this.pieces[next]) {
            const n = byteLength(q.views);
            next++;
            sent += n;
            this.relayed += n;
            end += n;
          }
          if (cursor) cursor.next = next;
          const gave = yield* this.readWritten(piece.at, end);
          if (gave !== undefined) {
            // The temp file went (the block was committed) while this reader was behind: what
            // the file did not give comes from the store, counted there, once the feed has ended.
            this.relayed -= sent - (piece.at + gave);
            sent = piece.at + gave;
            while (!this.whole && !this.failure) await this.changed();
            break;
          }
        }
        else if (piece.leases) {
          const lent = this.lend(piece);
          if (cursor) {
            cursor.next = next;
            this.spillTaken();
          }
          yield* lent;
        } else yield piece.views;
      }
      if (this.failure || this.whole) continue;
      await this.changed();
    }
  }

  /** A received piece, its buffers held for this reader (a share of its own, taken now) until its socket has sent them. */
  private lend(piece: Received): Generator<OwnedPiece> {
    for (const l of piece.leases!) l.retain();
    return this.lent(piece.views, piece.leases!);
  }

  private *lent(views: readonly Buffer[], leases: readonly Lease[]): Generator<OwnedPiece> {
    let handed = false;
    try {
      const last = views.length - 1;
      for (const [i, bytes] of views.entries()) {
        // Write callbacks come in order: the last view's flush covers the piece.
        if (i === last) handed = true;
        yield { bytes, flushed: i === last ? () => leases.forEach((l) => l.release()) : () => undefined };
      }
    } finally {
      if (!handed) for (const l of leases) l.release();
    }
  }

  /**
   * Spilled pieces' bytes, from the block's temp file. A copy that failed meanwhile ends the
   * reader as any failure does. The file can also be gone because the block was verified and
   * committed (renamed) while this reader was behind: then this returns how many bytes it
   * gave, and the reader takes the rest from the store (before, the reply failed with ENOENT
   * and the requester fetched the whole block again elsewhere).
   */
  private async *readWritten(from: number, to: number): AsyncGenerator<OwnedPiece, number | undefined> {
    let gave = 0;
    try {
      for await (const piece of this.written!(from, to)) {
        gave += piece.bytes.length;
        yield piece;
      }
      return undefined;
    } catch (err) {
      if (this.failure) throw this.failure;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return gave;
      throw err;
    }
  }

  /** The stored rest from `from`, or undefined (no store given, or it cannot read the block now: the received bytes serve). */
  private storedFrom(from: number): AsyncIterable<OwnedPiece> | undefined {
    try {
      return this.rest?.(from);
    } catch {
      return undefined;
    }
  }

  /**
   * The rest from the store. Write callbacks come in order, so once the first of these pieces
   * is flushed, so is every received piece this reader sent before it: it lets go then.
   */
  private async *readStored(stored: AsyncIterable<OwnedPiece>, letGo: (() => void) | undefined): AsyncGenerator<OwnedPiece> {
    let first = letGo;
    for await (const piece of stored) {
      this.relayed += piece.bytes.length;
      const then = first;
      first = undefined;
      yield then ? { bytes: piece.bytes, flushed: () => (piece.flushed(), then()) } : piece;
    }
  }

  private changed(): Promise<void> {
    this.waiting ??= new Promise<void>((resolve) => (this.wake = resolve));
    return this.waiting;
  }

  private notify(): void {
    const wake = this.wake;
    this.waiting = undefined;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Who was given views of a received block's bytes (the reply's pooled buffers,
 * wire/frame-copier.ts): relay feeds, done with them when their readers are, or someone who
 * keeps them (a reader handed the block itself), after which they are never given back.
 */
export class ReplyViews {
  private readonly feeds = new Set<RelayFeed>();
  kept = false;

  add(feed: RelayFeed | undefined): void {
    if (feed) this.feeds.add(feed);
  }

  /** Calls `release` once every feed that saw the bytes has no reader left; never if they were kept. Call when no new view can be made. */
  whenDone(release: () => void): void {
    if (this.kept) return;
    let left = this.feeds.size + 1;
    const one = () => {
      if (--left === 0) release();
    };
    for (const f of this.feeds) f.whenUnread(one);
    one();
  }
}

/** Bytes [from, to) of `parts` as pieces of at most `size` bytes, each a list of views (no copy). */
export function* slices(parts: readonly Buffer[], from: number, to: number, size: number): Generator<Buffer[]> {
  let piece: Buffer[] = [];
  let pieceBytes = 0;
  let offset = 0;
  for (const b of parts) {
    const start = Math.max(from - offset, 0);
    const end = Math.min(to - offset, b.length);
    offset += b.length;
    let at = start;
    while (at < end) {
      const take = Math.min(end - at, size - pieceBytes);
      piece.push(b.subarray(at, at + take));
      pieceBytes += take;
      at += take;
      if (pieceBytes === size) {
        yield piece;
        piece = [];
        pieceBytes = 0;
      }
    }
  }
  if (pieceBytes > 0) yield piece;
}
