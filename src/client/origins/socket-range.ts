/**
 * One HTTP/1.1 GET of a byte range on a socket of its own whose reads all land in one
 * reused buffer (the `onread` option of net and tls), for the bulk of an HTTP origin's bytes
 * (http-origin.ts). Through undici or node:http every socket read is a fresh 64 KiB buffer
 * and a stream chunk: per GiB 16,384 allocations on freshly faulted pages, their garbage
 * collection and the stream machinery. Reading 1 GiB from nginx cost 2.0-2.4 CPU s that way
 * and 0.84 s here (docs/ORIGINS.md, "How an origin is read"); reading the origin's socket is
 * what bounds an origin publish.
 *
 * Only the plain answer is taken: a 206 with a Content-Length body and no transfer coding.
 * Anything else (a redirect, an error status, a chunked body) is left to undici: `openSocketRange`
 * returns undefined and the caller asks again there, so those keep undici's handling.
 */
import net from 'node:net';
import tls from 'node:tls';
import { copyBytes } from '../../core/shared-copy.js';
import type { RangeBody } from './range-stream.js';

export interface SocketAnswer {
  headers: Record<string, string>;
  body: RangeBody;
}

/**
 * Each socket read lands in a staging buffer and is copied at once into the waiting read's
 * buffer. What no read was waiting for stays where it landed (the socket is paused) and the
 * socket reads into another staging buffer meanwhile: nothing is allocated or copied twice.
 */
const STAGING_BYTES = 256 * 1024;
/** An answer whose status line and headers are longer is not the plain answer this reads. */
const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

interface Waiting {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve: (n: number) => void;
  reject: (err: Error) => void;
}

/** Status line and headers, lower-cased names (a repeated header: its first value). */
function parseHead(text: string): { status: number; headers: Record<string, string> } | undefined {
  const [statusLine, ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers };
}

class SocketBody implements RangeBody {
  private socket!: net.Socket;
  private head: Buffer | undefined = Buffer.alloc(0);
  /** Body bytes still to come from the socket. */
  private remaining = 0;
  /** Bytes that came while no read was waiting (the socket is paused until they are taken), in the staging buffer they landed in. */
  private overflow: { bytes: Buffer; staging?: Buffer }[] = [];
  /** The staging buffer the socket reads into next, and the free ones. */
  private staging: Buffer = Buffer.allocUnsafeSlow(STAGING_BYTES);
  private readonly spare: Buffer[] = [];
  private waiting: Waiting | undefined;
  private ended = false;
  private failure: Error | undefined;
  private answered!: (a: { status: number; headers: Record<string, string> } | undefined) => void;
  private refused!: (err: Error) => void;
  readonly answer = new Promise<{ status: number; headers: Record<string, string> } | undefined>((resolve, reject) => {
    this.answered = resolve;
    this.refused = reject;
  });

  start(url: URL, target: string, extra: Record<string, string>): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const onread = { buffer: () => this.nextStaging(), callback: (n: number, buf: Buffer) => this.onData(buf.subarray(0, n), buf) };
    this.socket =
      url.protocol === 'https:'
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, onread } as tls.ConnectionOptions)
        : net.connect({ host, port, onread } as net.NetConnectOpts);
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('the connection closed')));
    const lines = [`GET ${target} HTTP/1.1`, `host: ${url.host}`, 'accept-encoding: identity', 'connection: close', ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`)];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  read(buffer: Buffer, offset: number, length: number): Promise<number> {
    if (this.overflow.length > 0) return Promise.resolve(this.fromOverflow(buffer, offset, length));
    if (this.ended) return Promise.resolve(0);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { buffer, offset, length, resolve, reject };
    });
  }

  /** Drops the connection; a read still waiting fails, as a destroyed stream's would. */
  destroy(): void {
    this.ended = true;
    this.socket.destroy();
    this.waiting?.reject(new Error('the range was closed'));
    this.waiting = undefined;
  }

  /** Every read of the socket: the bytes are copied out before it returns (the buffer is reused). */
  private onData(chunk: Buffer, staging?: Buffer): boolean {
    if (this.head) return this.onHead(chunk);
    const take = chunk.subarray(0, Math.min(chunk.length, this.remaining));
    this.remaining -= take.length;
    let used = 0;
    const w = this.waiting;
    if (w && take.length > 0) {
      this.waiting = undefined;
      used = copyBytes(take, w.buffer, w.offset, 0, Math.min(take.length, w.length));
      w.resolve(used);
    }
    if (used < take.length) this.overflow.push({ bytes: take.subarray(used), staging });
    if (this.remaining === 0) this.finish();
    // A paused socket reads nothing more until the overflow is taken (read() resumes it).
    return this.overflow.length === 0;
  }

  private onHead(chunk: Buffer): boolean {
    const head = Buffer.concat([this.head!, chunk]);
    const end = head.indexOf(HEAD_END);
    if (end < 0) {
      this.head = head;
      if (head.length > MAX_HEAD_BYTES) this.settleHead(undefined);
      return true;
    }
    this.head = undefined;
    const parsed = parseHead(head.toString('latin1', 0, end));
    const length = Number(parsed?.headers['content-length'] ?? NaN);
    if (!parsed || parsed.status !== 206 || parsed.headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(length)) {
      this.settleHead(undefined);
      return false;
    }
    this.remaining = length;
    this.settleHead(parsed);
    return this.onData(head.subarray(end + HEAD_END.length));
  }

  /** The head was read: the plain answer, or undefined (the connection is dropped; undici asks again). */
  private settleHead(parsed: { status: number; headers: Record<string, string> } | undefined): void {
    if (!parsed) this.destroy();
    this.answered(parsed);
  }

  private fromOverflow(buffer: Buffer, offset: number, length: number): number {
    const first = this.overflow[0]!;
    const n = copyBytes(first.bytes, buffer, offset, 0, Math.min(first.bytes.length, length));
    first.bytes = first.bytes.subarray(n);
    if (first.bytes.length === 0) {
      this.overflow.shift();
      if (first.staging) this.spare.push(first.staging);
    }
    if (this.overflow.length === 0 && !this.ended) this.socket.resume();
    return n;
  }

  /** Asked before each socket read: the staging buffer to read into, not one still holding unread bytes. */
  private nextStaging(): Buffer {
    if (this.overflow.some((o) => o.staging === this.staging)) this.staging = this.spare.pop() ?? Buffer.allocUnsafeSlow(STAGING_BYTES);
    return this.staging;
  }

  private finish(): void {
    this.ended = true;
    this.socket.destroy();
    this.waiting?.resolve(0);
    this.waiting = undefined;
  }

  private fail(err: Error): void {
    if (this.ended) return;
    this.failure ??= err;
    this.socket.destroy();
    this.refused(err);
    this.waiting?.reject(err);
    this.waiting = undefined;
  }
}

/**
 * GETs `url` with `headers` (a Range among them) and waits for the answer's head, at most
 * `headMs`: the plain 206 answer with its body, or undefined for anything else. Fails
 * with the socket's error (refused, reset, TLS) or a timeout. `target`: the request line's
 * path and query as they must be sent (a signed S3 request's, which URL parsing would
 * normalise: `a/../b` is a key of its own there).
 */
export async function openSocketRange(url: URL, headers: Record<string, string>, headMs: number, target = `${url.pathname}${url.search}`): Promise<SocketAnswer | undefined> {
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return undefined;
  const body = new SocketBody();
  body.start(url, target, headers);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${headMs / 1000} s`)), headMs);
  });
  try {
    const head = await Promise.race([body.answer, timeout]);
    return head ? { headers: head.headers, body } : undefined;
  } catch (err) {
    body.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
