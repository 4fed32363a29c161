/**
 * Outgoing peer connections, one per address, each opened with a `hello` that tells the
 * remote side who we are and learns who it is. Closed connections leave the pool and are
 * dialled again on next use.
 */
import type { Attributes } from '../core/attributes.js';
import { PeerConnection, type RequestHandler } from './peer-connection.js';
import { PROTOCOL_VERSION } from './messages.js';
import { formatAddress, type PeerAddress, type Transport } from './transport.js';

export interface LocalIdentity {
  readonly nodeId: string;
  readonly name: string;
  readonly attrs: Attributes;
}

export class PeerPool {
  private readonly conns = new Map<string, Promise<PeerConnection>>();

  constructor(
    private readonly transport: Transport,
    private readonly identity: LocalIdentity,
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
    const stream = await this.transport.connect(address);
    const conn = new PeerConnection(stream, this.handler);
    try {
      const reply = await conn.request('hello', { nodeId: this.identity.nodeId, name: this.identity.name, attrs: this.identity.attrs, version: PROTOCOL_VERSION }, { timeoutMs: 10_000 });
      conn.remoteId = String(reply.header.nodeId);
      conn.remoteAttrs = (reply.header.attrs ?? {}) as Record<string, string>;
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return conn;
  }
}
