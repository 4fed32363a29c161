/**
 * A client for the pull side of an OCI Distribution registry: manifests (at most 4 MiB,
 * checked against their digest) and blobs (streamed; the caller checks them, see
 * blob-check.ts). Authentication: anonymous, basic, or the bearer-token flow of Docker
 * Hub-style registries (a 401 with `WWW-Authenticate: Bearer realm=...` is answered by
 * asking the realm for a pull token, with the basic credentials if any). TLS: the system
 * roots, an extra CA, or plain HTTP for `--insecure-registry`. Errors carry the registry's
 * status and OCI error code (ERR_OCI_UPSTREAM), never a stack of undici internals.
 */
import { createHash } from 'node:crypto';
import type * as UndiciModule from 'undici';
import type { Dispatcher } from 'undici';
import { CanopyError } from '../core/errors.js';
import { MANIFEST_MEDIA_TYPES } from './oci-media-types.js';

export const MAX_MANIFEST_BYTES = 4 * 2 ** 20;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

export interface UpstreamOptions {
  /** `host[:port]` of the registry. */
  registry: string;
  /** Plain HTTP instead of HTTPS. */
  insecure?: boolean;
  /**
   * Where this registry is reached, `http(s)://host[:port]`, when not at `registry` itself: a
   * mirror or cache of it, or Docker Hub's API host. Its scheme decides HTTP or HTTPS.
   */
  endpoint?: string;
  /** Extra CA certificates (PEM) trusted for this registry. */
  ca?: string;
  /** Skip certificate checks (a self-signed test registry); prefer `ca`. */
  skipTlsVerify?: boolean;
  /** Basic credentials (also sent to the token realm of the bearer flow). */
  credentials?: { username: string; password: string };
  /** Headers and body inactivity limit per request. */
  timeoutMs?: number;
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

export interface BlobStream {
  /** The registry's declared length, when it sent one. */
  length: number | undefined;
  body: AsyncIterable<Buffer> & { destroy(err?: Error): void };
}

/** Docker Hub's names are not where its API answers: that is registry-1.docker.io. */
function defaultEndpointHost(registry: string): string {
  return ['docker.io', 'index.docker.io'].includes(registry) ? 'registry-1.docker.io' : registry;
}

type Undici = typeof UndiciModule;

export class RegistryClient {
  private dispatcher: Dispatcher | undefined;
  private readonly base: string;
  /** Bearer tokens by scope. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly options: UpstreamOptions) {
    this.base = options.endpoint ?? `${options.insecure ? 'http' : 'https'}://${defaultEndpointHost(options.registry)}`;
  }

  /**
   * undici's `request` and this registry's dispatcher (made on first use). undici is imported
   * here, not at the top: every node imports this module (the root's pull-through), few ever
   * pull, and undici is ~19 MiB of RSS; Node's module cache makes later imports free.
   */
  private async http(): Promise<{ request: Undici['request']; dispatcher: Dispatcher }> {
    const { Agent, interceptors, request } = await import('undici');
    this.dispatcher ??= new Agent({ connect: { ca: this.options.ca, rejectUnauthorized: !this.options.skipTlsVerify } }).compose(interceptors.redirect({ maxRedirections: 5 }));
    return { request, dispatcher: this.dispatcher };
  }

  get registry(): string {
    return this.options.registry;
  }

  /** Fetches a manifest by tag or digest; its bytes are checked against the digest asked or the one the registry declares. */
  async manifest(repository: string, reference: string): Promise<FetchedManifest> {
    const res = await this.get(repository, `/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_MEDIA_TYPES.join(', ') });
    const declared = Number(res.headers['content-length']);
    if (declared > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw tooLarge(repository, reference);
    }
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > MAX_MANIFEST_BYTES) {
        res.body.destroy();
        throw tooLarge(repository, reference);
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const expected = reference.startsWith('sha256:') ? reference : header(res.headers['docker-content-digest']);
    if (expected !== undefined && expected.startsWith('sha256:') && expected !== digest) {
      throw new CanopyError('ERR_OCI_DIGEST_MISMATCH', `${this.options.registry}/${repository}:${reference}: the manifest's bytes hash to ${digest}, not ${expected}`);
    }
    const mediaType = (header(res.headers['content-type']) ?? '').split(';')[0]!.trim();
    return { mediaType, digest, body };
  }

  /** Opens a blob for streaming; the caller must check the bytes against the digest. */
  async blob(repository: string, digest: string): Promise<BlobStream> {
    const res = await this.get(repository, `/v2/${repository}/blobs/${digest}`, {});
    const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    return { length, body: res.body as unknown as BlobStream['body'] };
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  private async get(repository: string, path: string, headers: Record<string, string>): Promise<Dispatcher.ResponseData> {
    const scope = `repository:${repository}:pull`;
    let res = await this.send(path, headers, this.authorization(scope));
    if (res.statusCode === 401) {
      const challenge = header(res.headers['www-authenticate']) ?? '';
      const refusal = await upstreamError(this.options.registry, path, res);
      const auth = await this.answerChallenge(challenge, scope);
      if (auth === undefined) throw refusal;
      res = await this.send(path, headers, auth);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await upstreamError(this.options.registry, path, res);
  }

  private async send(path: string, headers: Record<string, string>, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const timeout = this.options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    try {
      const { request, dispatcher } = await this.http();
      return await request(`${this.base}${path}`, {
        dispatcher,
        headers: { ...headers, ...(authorization ? { authorization } : {}), 'user-agent': 'canopy' },
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      throw new CanopyError('ERR_OCI_UPSTREAM', `${this.options.registry}: ${path}: ${describe(err)}`, { cause: err });
    }
  }

  private authorization(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token) return `Bearer ${token}`;
    return this.basic();
  }

  private basic(): string | undefined {
    const c = this.options.credentials;
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
  }

  /** Basic: resend with the credentials (if not already sent). Bearer: get a token from the realm. */
  private async answerChallenge(challenge: string, scope: string): Promise<string | undefined> {
    const params = parseChallenge(challenge);
    // Basic: the credentials (if any) were sent already, so a 401 means they are wrong or missing.
    if (params.scheme === 'basic') return undefined;
    if (params.scheme !== 'bearer' || !params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? scope);
    let res;
    try {
      const { request, dispatcher } = await this.http();
      res = await request(url, { dispatcher, headers: this.basic() ? { authorization: this.basic()! } : {}, headersTimeout: this.options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS });
    } catch (err) {
      throw new CanopyError('ERR_OCI_UPSTREAM', `${this.options.registry}: token realm ${url.origin}: ${describe(err)}`, { cause: err });
    }
    if (res.statusCode !== 200) throw await upstreamError(this.options.registry, `token realm ${url.origin}${url.pathname}`, res);
    const body = (await res.body.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new CanopyError('ERR_OCI_UPSTREAM', `${this.options.registry}: the token realm ${url.origin} answered without a token`);
    this.tokens.set(scope, token);
    return `Bearer ${token}`;
  }
}

/** `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → its parameters. */
export function parseChallenge(text: string): { scheme: string; realm?: string; service?: string; scope?: string } {
  const m = /^\s*(\w+)\s*(.*)$/.exec(text);
  if (!m) return { scheme: '' };
  const out: Record<string, string> = { scheme: m[1]!.toLowerCase() };
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) out[p[1]!.toLowerCase()] = p[2]!;
  return out as { scheme: string };
}

async function upstreamError(registry: string, path: string, res: Dispatcher.ResponseData): Promise<CanopyError> {
  const text = await res.body.text().catch(() => '');
  let code = '';
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors;
    if (Array.isArray(errors) && errors[0]) code = ` ${String(errors[0].code)}: ${String(errors[0].message).slice(0, 200)}`;
  } catch {
    // Not an OCI error body: the status says enough.
  }
  const retry = header(res.headers['retry-after']);
  return new CanopyError('ERR_OCI_UPSTREAM', `${registry}: ${path} answered ${res.statusCode}${code}${retry ? ` (retry after ${retry})` : ''}`, { details: { status: res.statusCode } });
}

function tooLarge(repository: string, reference: string): CanopyError {
  return new CanopyError('ERR_OCI_MANIFEST_INVALID', `${repository}:${reference}: the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' ? 'timed out' : `${e.code ? `${e.code} ` : ''}${e.message ?? String(err)}`;
}
