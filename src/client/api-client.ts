/**
 * The CLI's client for a node's admin API. Connection failures become ERR_UNREACHABLE with
 * a hint; error bodies from the node are rebuilt as CanopyErrors with their own codes.
 */
import { checkTokenTransport } from './transport-policy.js';
import { apiDispatcher, unverifiedServer } from './api-tls.js';
import type { Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { CanopyError, errorFromJSON } from '../core/errors.js';
import { findApiToken, TOKEN_SOURCES } from './api-token.js';

export const DEFAULT_API = process.env.CANOPY_API ?? 'http://127.0.0.1:7401';

export class ApiClient {
  readonly base: string;
  private readonly token: string | undefined;
  private readonly dispatcher: Dispatcher | undefined;

  /** `token` defaults to the one findApiToken() discovers (flag file, environment, default files). */
  constructor(base: string = DEFAULT_API, token: string | undefined = findApiToken()) {
    this.token = token;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new CanopyError('ERR_USAGE', `"${base}" is not a URL (expected e.g. http://127.0.0.1:7401)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CanopyError('ERR_USAGE', `"${base}" must be an http(s) URL`);
    checkTokenTransport(url, token !== undefined, process.env.CANOPY_INSECURE_HTTP === '1');
    this.base = url.origin;
    this.dispatcher = apiDispatcher(url);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  postJson<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, JSON.stringify(body), { 'content-type': 'application/json' });
  }

  post<T>(path: string, body?: Readable, headers: Record<string, string> = {}): Promise<T> {
    return this.call<T>('POST', path, body, headers);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: Readable | string, headers: Record<string, string> = {}): Promise<T> {
    let res;
    const auth: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    try {
      res = await request(`${this.base}${path}`, { method, body, headers: { ...headers, ...auth }, headersTimeout: 600_000, bodyTimeout: 600_000, ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}) });
    } catch (err) {
      const tls = unverifiedServer(err, this.base);
      if (tls) throw tls;
      const code = (err as { code?: string }).code ?? (err as Error).message;
      throw new CanopyError('ERR_UNREACHABLE', `cannot reach the node API at ${this.base} (${code}); is a network running? Start one with "npm start" or pass --to URL`, { cause: err });
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CanopyError('ERR_HTTP', `${method} ${path} answered ${res.statusCode} with a non-JSON body`);
    }
    if (res.statusCode >= 400) {
      const err = errorFromJSON((json as { error?: unknown }).error);
      if (err.code === 'ERR_AUTH_REQUIRED') {
        const where = this.token ? 'the token found was not accepted by this node' : `no token was found (${TOKEN_SOURCES})`;
        throw new CanopyError('ERR_AUTH_REQUIRED', `${err.message}; ${where}`);
      }
      throw err;
    }
    return json as T;
  }
}
