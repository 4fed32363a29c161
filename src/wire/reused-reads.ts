/**
 * A socket that reads into one buffer of its own, reused for every read (node:net's and
 * node:tls's `onread` option, honoured by sockets a node dials on Node 20, 22 and 24),
 * instead of a fresh buffer per read: a TLS socket otherwise allocates one per 16 KiB
 * record, which V8 counts against its old-generation limit and pays for in full
 * mark-compacts (frame-copier.ts). The connection that owns the socket copies out what it
 * keeps (PeerConnection with a CopyingFrameDecoder); a socket read this way emits no
 * 'data' events. Only dialled sockets: node:tls ignores `onread` on the sockets a server
 * accepts. Bytes read before the connection listens are kept (copied) until it does.
 */
import type { OnReadOpts } from 'node:net';
import type { Duplex } from 'node:stream';

/** The reused buffer: a TLS read delivers at most one 16 KiB record, a TCP read up to 64 KiB. */
export const READ_BUFFER_BYTES = 64 * 1024;

export class ReusedReads {
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private early: Buffer[] = [];
  private sink: ((bytes: Buffer) => void) | undefined;

  /** The `onread` option to dial with. */
  get onread(): OnReadOpts {
    return {
      buffer: this.buffer,
      callback: (n) => {
        const bytes = this.buffer.subarray(0, n);
        if (this.sink) this.sink(bytes);
        else this.early.push(Buffer.from(bytes));
        return true; // Keep reading: the connection pauses the socket itself.
      },
    };
  }

  /** From now on every read goes to `sink`, valid only during the call; earlier ones first. */
  listen(sink: (bytes: Buffer) => void): void {
    this.sink = sink;
    const early = this.early;
    this.early = [];
    for (const b of early) sink(b);
  }
}

const reading = new WeakMap<Duplex, ReusedReads>();

/** Called by a transport that dialled `stream` with `reads.onread`. */
export function markReusedReads(stream: Duplex, reads: ReusedReads): void {
  reading.set(stream, reads);
}

/** How `stream` delivers its bytes: through a reused buffer (this), or as 'data' events (undefined). */
export function reusedReadsOf(stream: Duplex): ReusedReads | undefined {
  return reading.get(stream);
}
