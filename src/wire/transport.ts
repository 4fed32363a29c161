/**
 * The node-to-node transport, as an interface: the protocol logic (PeerConnection and
 * above) only sees duplex byte streams. TCP is the first adapter; mutual TLS and the
 * simulator's in-memory network slot in here without touching the protocol.
 */
import type { Duplex } from 'node:stream';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

export interface Transport {
  listen(address: PeerAddress, onConnection: (stream: Duplex) => void): Promise<Listener>;
  connect(address: PeerAddress, signal?: AbortSignal): Promise<Duplex>;
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses "host:port" or "[v6]:port". */
export function parseAddress(text: string): PeerAddress | null {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * A list of root addresses, `host:port[,host:port...]` (several roots on one database: a node
 * follows whichever leads). Null if any item is not host:port, or the list is empty or long.
 */
export function parseAddressList(text: string): PeerAddress[] | null {
  const items = text.split(',');
  if (items.length === 0 || items.length > 16) return null;
  const out: PeerAddress[] = [];
  for (const item of items) {
    const a = parseAddress(item);
    if (!a) return null;
    out.push(a);
  }
  return out;
}

/** Node ids of streams a transport authenticated (mutual TLS: the certificate's CN), kept beside the stream and gone with it. */
const authenticated = new WeakMap<Duplex, string>();

/** Called by a transport that proved who is at the other end of `stream`. */
export function markAuthenticated(stream: Duplex, nodeId: string): void {
  authenticated.set(stream, nodeId);
}

/** The node id of the peer on a stream a transport authenticated, or undefined (plain TCP). */
export function authenticatedPeerId(stream: Duplex): string | undefined {
  return authenticated.get(stream);
}
