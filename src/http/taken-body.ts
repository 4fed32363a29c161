/**
 * Request bodies read into one reused buffer instead of node:http's fresh buffer per piece.
 * node:http hands each piece of a request body to JavaScript in a new Buffer (64 KiB per
 * read over TCP, 16 KiB per TLS record); for a publish upload of gigabytes that is one
 * allocation per read, which V8 pays for in full mark-compacts: the root ran ~30 major GCs
 * per `distribute` run, all from the upload (notes/issue-15.md, Sessions 9-10).
 *
 * For the requests `wanted` picks, the server takes the socket once the headers are parsed:
 * it tells node:http's parser the request is an upgrade (the parser stops after the headers
 * and detaches from the socket, as for a WebSocket), reads the socket with the same
 * user-buffer mechanism as node:net's `onread` option (a dialled socket's, wire/reused-reads.ts),
 * decodes the transfer framing itself (transfer-decoder.ts) and hands the request on to the
 * server's 'request' listener with a response of its own. The handler takes the body with
 * `takenBodyOf(req)`, a ByteSource that pushes views of the buffer. The connection closes
 * after the answer (`Connection: close`), so bytes after the body are never parsed.
 *
 * Not taken (read as usual): a request with `Expect`, one behind an unfinished answer on its
 * connection, a body framing other than Content-Length or chunked, and every request when
 * node:http's internals are not as checked here (Node 20, 22 and 24).
 */
import type http from 'node:http';
import { nodeHttp } from './node-http.js';
import net from 'node:net';
import type { ByteSource } from '../ingest/pushed-frames.js';
import { isHttps } from './web-server.js';
import { TransferDecoder, type BodyFraming } from './transfer-decoder.js';

/** The reused buffer: a TCP read brings up to 64 KiB, a TLS read one 16 KiB record. */
export const TAKEN_READ_BYTES = 64 * 1024;

/** node:net's slots for a user read buffer (the `onread` option's), found on a socket by name. */
interface ReadSlots {
  buffer: symbol;
  callback: symbol;
}

let slots: ReadSlots | null | undefined;

function readSlots(): ReadSlots | null {
  if (slots !== undefined) return slots;
  const own = Object.getOwnPropertySymbols(new net.Socket());
  const buffer = own.find((s) => s.description === 'kBuffer');
  const callback = own.find((s) => s.description === 'kBufferCb');
  slots = buffer && callback ? { buffer, callback } : null;
  return slots;
}

/** The parts of node:http's per-connection parser and of a socket's handle this relies on. */
type Incoming = (req: http.IncomingMessage, keepAlive: boolean) => number;
interface ParsedSocket extends net.Socket {
  parser?: { onIncoming?: Incoming } | null;
  _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null;
  _httpMessage?: unknown;
  _paused?: boolean;
}

const taken = new WeakMap<http.IncomingMessage, TakenBody>();
const framings = new WeakMap<http.IncomingMessage, BodyFraming>();

/** The body of a request the server took (read it through this, not from `req`), or undefined. */
export function takenBodyOf(req: http.IncomingMessage): ByteSource | undefined {
  return taken.get(req);
}

/** `wanted(req)`, false if it throws: this runs inside node:http's parser, where a throw would not reach the request's handler. */
function picks(wanted: (req: http.IncomingMessage) => boolean, req: http.IncomingMessage): boolean {
  try {
    return wanted(req);
  } catch {
    return false;
  }
}

function framingOf(req: http.IncomingMessage): BodyFraming | undefined {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return te.trim().toLowerCase() === 'chunked' ? { chunked: true } : undefined;
  const cl = req.headers['content-length'];
  return cl !== undefined && /^\d{1,15}$/.test(cl) && Number(cl) > 0 ? { length: Number(cl) } : undefined;
}

/** Installs the taking of the bodies of the requests `wanted` picks on `server` (see the file's comment). */
export function takeBodies(server: http.Server, wanted: (req: http.IncomingMessage) => boolean): void {
  if (!readSlots()) return;
  const sockets = new Set<net.Socket>();
  server.on(isHttps(server) ? 'secureConnection' : 'connection', (socket: ParsedSocket) => {
    const parser = socket.parser;
    const incoming = parser?.onIncoming;
    if (!parser || typeof incoming !== 'function' || typeof socket._handle?.useUserBuffer !== 'function') return;
    parser.onIncoming = (req, keepAlive) => {
      const framing = req.httpVersion === '1.1' && !socket._httpMessage && !socket._paused && req.headers.expect === undefined && picks(wanted, req) ? framingOf(req) : undefined;
      const r = req as http.IncomingMessage & { upgrade: boolean };
      if (framing) {
        r.upgrade = true;
        framings.set(req, framing);
      } else if (req.method !== 'CONNECT') {
        // An upgrade the client asked for is declined, as when the server has no 'upgrade' listener.
        r.upgrade = false;
      }
      return incoming(req, keepAlive);
    };
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: ParsedSocket, head: Buffer) => {
    const framing = framings.get(req);
    if (!framing) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    taken.set(req, new TakenBody(socket, head, framing, readSlots()!));
    const res = new nodeHttp.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => {
      res.detachSocket(socket);
      socket.destroySoon();
    });
    server.emit('request', req, res);
  });
  // The server no longer tracks a taken socket as one of its connections: closing them all closes these too.
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeAll();
    for (const s of sockets) s.destroy();
  };
}

function aborted(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** A taken request's body: the socket's reads, through the transfer decoder, pushed to one consumer. */
class TakenBody implements ByteSource {
  private readonly buffer = Buffer.allocUnsafe(TAKEN_READ_BYTES);
  /** Bytes that came before `start` (copied), and an error that came then. */
  private early: Buffer[] = [];
  private earlyError: Error | undefined;
  private state: 'waiting' | 'reading' | 'over' = 'waiting';
  /** Paused by the consumer (the socket is also paused while waiting and once over). */
  private paused = false;
  private decoder: TransferDecoder | undefined;
  private onEnd: ((err?: Error) => void) | undefined;

  constructor(
    private readonly socket: ParsedSocket,
    head: Buffer,
    private readonly framing: BodyFraming,
    slot: ReadSlots,
  ) {
    if (head.length > 0) this.early.push(head);
    const s = socket as unknown as Record<symbol, unknown>;
    s[slot.buffer] = this.buffer;
    s[slot.callback] = (n: number) => this.read(n);
    socket._handle!.useUserBuffer!(this.buffer);
    socket.pause();
    socket.on('timeout', () => socket.destroy());
    socket.on('error', (err) => this.fail(err));
    socket.on('end', () => this.fail(aborted()));
    socket.on('close', () => this.fail(aborted()));
  }

  start(onBytes: (bytes: Buffer) => void, onEnd: (err?: Error) => void): void {
    if (this.state !== 'waiting') throw new Error('a request body is read once');
    this.decoder = new TransferDecoder(this.framing, onBytes);
    this.onEnd = onEnd;
    this.state = 'reading';
    for (const b of this.early.splice(0)) if (this.state === 'reading') this.feed(b);
    if (this.earlyError) this.fail(this.earlyError);
    if (this.state === 'reading' && !this.paused) this.socket.resume();
  }

  pause(): void {
    this.paused = true;
    if (this.state === 'reading') this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.state === 'reading') this.socket.resume();
  }

  stop(): void {
    if (this.state === 'over') return;
    this.state = 'over';
    this.onEnd = undefined;
    this.socket.pause();
  }

  /** A read into the buffer: `n` bytes, overwritten by the next read. Returning false stops reading. */
  private read(n: number): boolean {
    const bytes = this.buffer.subarray(0, n);
    if (this.state === 'waiting') this.early.push(Buffer.from(bytes));
    else if (this.state === 'reading') this.feed(bytes);
    return this.state === 'reading';
  }

  private feed(bytes: Buffer): void {
    let done: boolean;
    try {
      done = this.decoder!.push(bytes);
    } catch (err) {
      return this.fail(err as Error);
    }
    if (done) this.over(undefined);
  }

  private fail(err: Error): void {
    if (this.state === 'waiting') this.earlyError ??= err;
    else if (this.state === 'reading') this.over(err);
  }

  private over(err: Error | undefined): void {
    const onEnd = this.onEnd;
    this.stop();
    onEnd?.(err);
  }
}
