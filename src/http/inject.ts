/**
 * Calls a node:http request handler without a socket (like fastify's `inject`): the request
 * is a readable stream with a method, URL and headers; the answer is collected in memory.
 * For tests of route tables and policy scenarios that need no port and run in milliseconds;
 * a handler that needs the socket itself (tus uploads, byte counters) is not for this.
 */
import type http from 'node:http';
import { Readable, Writable } from 'node:stream';

export interface InjectRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** A JSON value (sent as application/json), or raw bytes. */
  body?: unknown;
}

export interface InjectReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

class Collected extends Writable {
  statusCode = 200;
  headersSent = false;
  readonly headers: Record<string, string> = {};
  readonly chunks: Buffer[] = [];

  setHeader(name: string, value: unknown): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }

  getHeader(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.headers;
  }

  removeHeader(name: string): void {
    delete this.headers[name.toLowerCase()];
  }

  writeHead(status: number, headers?: Record<string, unknown>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.headersSent = true;
    this.chunks.push(Buffer.from(chunk));
    done();
  }
}

/** Runs `server`'s request handler (or a handler) on one request and resolves with the whole answer. */
export function inject(target: http.Server | Handler, request: InjectRequest): Promise<InjectReply> {
  const handler = typeof target === 'function' ? target : (target.listeners('request')[0] as Handler);
  const raw = request.body === undefined ? [] : [Buffer.isBuffer(request.body) || typeof request.body === 'string' ? Buffer.from(request.body) : Buffer.from(JSON.stringify(request.body))];
  const headers = { ...(request.body !== undefined && !Buffer.isBuffer(request.body) && typeof request.body !== 'string' ? { 'content-type': 'application/json' } : {}), ...lower(request.headers ?? {}), 'content-length': String(raw[0]?.length ?? 0) };
  const req = Object.assign(Readable.from(raw), { method: request.method ?? 'GET', url: request.url, headers, socket: { remoteAddress: '127.0.0.1' } });
  const res = new Collected();
  return new Promise((resolve, reject) => {
    res.once('error', reject);
    res.once('finish', () => {
      const body = Buffer.concat(res.chunks);
      resolve({ status: res.statusCode, headers: res.headers, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
    });
    handler(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  });
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
