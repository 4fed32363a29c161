/**
 * A socket that reads into buffers of our choosing (node:net's and node:tls's `onread`
 * option, honoured by sockets a node dials on Node 20, 22 and 24) instead of a fresh buffer
 * per read: a TLS socket otherwise allocates one per 16 KiB record, which V8 counts against
 * its old-generation limit and pays for in full mark-compacts (frame-copier.ts). A read goes
 * either into one reused buffer, from which the connection copies out what it keeps, or,
 * while a block's payload is arriving, straight into the pooled segment that will hold it
 * (the sink's `target`): then the payload's bytes are written once, by the kernel or by
 * TLS, and never copied in JavaScript. A socket read this way emits no 'data' events. Only
 * dialled sockets: node:tls ignores `onread` on the sockets a server accepts. Bytes read
 * before the connection listens are kept (copied) until it does.
 *
 * Node asks for the next read's buffer (`onread.buffer` as a function) right after each
 * read's callback, and once when the socket's handle is made; that buffer stays the read
 * target until the next read, whatever JavaScript runs meanwhile, so a target must stay
 * owned by the sink until bytes arrive in it or the socket is gone.
 */
import type { OnReadOpts } from 'node:net';
import type { Duplex } from 'node:stream';

/** The reused buffer: a TLS read delivers at most one 16 KiB record, a TCP read up to 64 KiB. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** Where a connection takes the bytes of a socket read this way. */
export interface ReadSink {
  /** Bytes read into the reused buffer, valid only during the call. */
  bytes(chunk: Buffer): void;
  /** Room for the next read to fill in place, or undefined for the reused buffer. Must not throw. */
  target(): Buffer | undefined;
  /** `n` bytes were read into the start of `target`, the buffer the last target() gave. */
  placed(target: Buffer, n: number): void;
}

export class ReusedReads {
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private early: Buffer[] = [];
  private sink: ReadSink | undefined;
  /** Bytes read in place (into a sink's target), and into the reused buffer: how well a connection avoids the copy. */
  inPlaceBytes = 0;
  reusedBytes = 0;

  /** The `onread` option to dial with. */
  get onread(): OnReadOpts {
    return {
      buffer: () => this.sink?.target() ?? this.buffer,
      callback: (n, buf) => {
        if (buf !== this.buffer) {
          this.inPlaceBytes += n;
          this.sink!.placed(buf as Buffer, n);
          return true;
        }
        this.reusedBytes += n;
        if (this.sink) this.sink.bytes(this.buffer.subarray(0, n));
        else this.early.push(Buffer.from(this.buffer.subarray(0, n)));
        return true; // Keep reading: the connection pauses the socket itself.
      },
    };
  }

  /** From now on every read goes to `sink`; earlier ones first. */
  listen(sink: ReadSink): void {
    this.sink = sink;
    const early = this.early;
    this.early = [];
    for (const b of early) sink.bytes(b);
  }
}

const reading = new WeakMap<Duplex, ReusedReads>();

/** Called by a transport that dialled `stream` with `reads.onread`. */
export function markReusedReads(stream: Duplex, reads: ReusedReads): void {
  reading.set(stream, reads);
}

/** How `stream` delivers its bytes: through reads of our choosing (this), or as 'data' events (undefined). */
export function reusedReadsOf(stream: Duplex): ReusedReads | undefined {
  return reading.get(stream);
}
