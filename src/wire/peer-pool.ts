/**
 * Outgoing peer connections, one per address, each opened with a `hello` that presents our
 * attribute record and attests the remote side's (its identity is the TLS certificate it
 * showed). Closed connections leave the pool and are dialled again on next use.
 */
import type { Attributes } from '../core/attributes.js';
import { PeerConnection, type RequestHandler } from './peer-connection.js';
import type { HelloBody } from './messages.js';
import { formatAddress, type PeerAddress, type Transport } from './transport.js';

export interface LocalIdentity {
  readonly nodeId: string;
  readonly name: string;
  readonly attrs: Attributes;
}

/** How a connection's peer is authenticated: what we say in hello, and how we judge what they say. */
export interface PeerAuthenticator {
  hello(): HelloBody;
  attest(conn: PeerConnection, presentedRecord: unknown): void;
}

/**
 * Dials in progress at once: set-up is paced, because a burst of TLS handshakes on a busy
 * machine (a new content makes every node dial every holder) makes some of them time out.
 */
export const MAX_CONCURRENT_DIALS = 4;

export class PeerPool {
  private readonly conns = new Map<string, Promise<PeerConnection>>();
  private dialing = 0;
  private readonly dialQueue: (() => void)[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly auth: PeerAuthenticator,
    private readonly handler: RequestHandler,
  ) {}

  get(address: PeerAddress): Promise<PeerConnection> {
    const key = formatAddress(address);
    let conn = this.conns.get(key);
    if (!conn) {
      conn = this.dial(address);
      this.conns.set(key, conn);
      conn.then(
        (c) => c.once('close', () => this.conns.get(key) === conn && this.conns.delete(key)),
        () => this.conns.delete(key),
      );
    }
    return conn;
  }

  closeAll(): void {
    for (const c of this.conns.values()) c.then((conn) => conn.destroy(), () => undefined);
    this.conns.clear();
  }

  private async dial(address: PeerAddress): Promise<PeerConnection> {
    if (this.dialing >= MAX_CONCURRENT_DIALS) await new Promise<void>((resolve) => this.dialQueue.push(resolve));
    this.dialing++;
    try {
      return await this.handshake(address);
    } finally {
      this.dialing--;
      this.dialQueue.shift()?.();
    }
  }

  private async handshake(address: PeerAddress): Promise<PeerConnection> {
    const stream = await this.transport.connect(address);
    const conn = new PeerConnection(stream, this.handler);
    try {
      const reply = await conn.request('hello', this.auth.hello(), { timeoutMs: 10_000 });
      this.auth.attest(conn, reply.header.record);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return conn;
  }
}
