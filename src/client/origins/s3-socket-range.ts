/**
 * An S3 origin's data ranges on a socket of their own, as an HTTP origin's (socket-range.ts,
 * docs/ORIGINS.md "How an origin is read"): the AWS SDK still resolves the endpoint and the
 * addressing, and builds and signs the GetObject (credentials, SigV4, If-Match, Range all as
 * before); a middleware in the handler's place (after signing, inside the deserializer) sends
 * that request with openSocketRange instead of the SDK's node:http handler. A plain 206 answer's body is kept aside
 * (`socketBodyOf`) and the SDK parses its headers over an empty stream; any other answer (an
 * error with its XML, a redirect to another region) goes through the SDK's own handler.
 */
import { Readable } from 'node:stream';
import type { GetObjectCommand } from '@aws-sdk/client-s3';
import type { RangeBody } from './range-stream.js';
import { openSocketRange } from './socket-range.js';

/** The socket bodies of GetObject answers, by the stream the SDK was given in their place. */
const bodies = new WeakMap<object, RangeBody>();

interface SignedRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/** RFC 3986 encoding, as the SDK encodes query strings. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The server to connect to, and the request target exactly as signed (never normalised by URL parsing). */
function targetOf(r: SignedRequest): { server: URL; target: string } {
  const query = Object.entries(r.query ?? {})
    .flatMap(([k, v]) => (v === null ? [encode(k)] : (Array.isArray(v) ? v : [v]).map((x) => `${encode(k)}=${encode(x)}`)))
    .join('&');
  const host = r.hostname.includes(':') ? `[${r.hostname}]` : r.hostname;
  return { server: new URL(`${r.protocol}//${host}${r.port ? `:${r.port}` : ''}/`), target: `${r.path}${query ? `?${query}` : ''}` };
}

/** Makes `command` read a plain 206 answer on a socket of its own; headMs bounds the wait for its head. */
export function readOnSocket(command: GetObjectCommand, headMs: number): void {
  type Next = (args: { request: unknown }) => Promise<unknown>;
  const middleware = (next: Next) => async (args: { request: unknown }) => {
    const request = args.request as SignedRequest;
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k.toLowerCase() !== 'host'));
    const { server, target } = targetOf(request);
    const answer = await openSocketRange(server, headers, headMs, target);
    if (!answer) return next(args);
    const body = Readable.from([]);
    bodies.set(body, answer.body);
    return { response: { statusCode: 206, reason: 'Partial Content', headers: answer.headers, body } };
  };
  // Innermost: after signing (finalizeRequest) and inside the deserializer, in the handler's place.
  (command.middlewareStack as unknown as { add(m: unknown, o: object): void }).add(middleware, { step: 'deserialize', priority: 'low', name: 'canopySocketRange', override: true });
}

/** The socket body behind a GetObject answer's Body, if it was read on a socket of its own. */
export function socketBodyOf(body: unknown): RangeBody | undefined {
  return body !== null && typeof body === 'object' ? bodies.get(body) : undefined;
}
