/**
 * The CLI's client for a node's admin API. Connection failures become ERR_UNREACHABLE with
 * a hint; error bodies from the node are rebuilt as CanopyErrors with their own codes.
 */
import { checkTokenTransport } from './transport-policy.js';
import { apiCa, apiDispatcher, unverifiedServer } from './api-tls.js';
import { openUpload } from './api-upload.js';
import type { ClientRequest } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { CanopyError, errorFromJSON } from '../core/errors.js';
import { findApiToken, TOKEN_SOURCES } from './api-token.js';

export const DEFAULT_API = process.env.CANOPY_API ?? 'http://127.0.0.1:7401';

/** One root (or node) API the client may talk to. */
interface Target {
  base: string;
  dispatcher: Dispatcher | undefined;
  /** The same trust as `dispatcher`, for node:http(s) (api-upload.ts). */
  ca: string | string[] | undefined;
}

/** A streamed POST (api-upload.ts): write the body to `body`; `reply` is the node's answer. */
export interface Upload<T> {
  body: ClientRequest;
  reply: Promise<T>;
}

/**
 * `base` is one API URL or several, comma-separated (the roots of a network on PostgreSQL):
 * a request goes to the first that answers; a standby's ERR_NOT_LEADER names the leader,
 * and the request is sent there.
 */
export class ApiClient {
  private target: Target;
  private readonly targets: Target[];
  private readonly token: string | undefined;
  private leaderFound = false;

  /** `token` defaults to the one findApiToken() discovers (flag file, environment, default files). */
  constructor(base: string = DEFAULT_API, token: string | undefined = findApiToken()) {
    this.token = token;
    const bases = base.split(',').map((b) => b.trim()).filter(Boolean);
    if (bases.length === 0) throw new CanopyError('ERR_USAGE', `"${base}" is not a URL (expected e.g. http://127.0.0.1:7401)`);
    this.targets = bases.map((b) => this.targetOf(b));
    this.target = this.targets[0]!;
  }

  private targetOf(base: string): Target {
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new CanopyError('ERR_USAGE', `"${base}" is not a URL (expected e.g. http://127.0.0.1:7401)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CanopyError('ERR_USAGE', `"${base}" must be an http(s) URL`);
    checkTokenTransport(url, this.token !== undefined, process.env.CANOPY_INSECURE_HTTP === '1');
    return { base: url.origin, dispatcher: apiDispatcher(url), ca: apiCa(url) };
  }

  /** The API the client talks to now (the leader, once it has followed one). */
  get base(): string {
    return this.target.base;
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

  /**
   * A POST whose body the caller streams from its own buffers (a publish's blocks): each
   * write's callback fires once the chunk was sent, so the buffer may be reused then
   * (api-upload.ts). Sent once, to the leader (found first, as for any streamed body).
   */
  async upload<T>(path: string, headers: Record<string, string>): Promise<Upload<T>> {
    await this.followLeader();
    const target = this.target;
    const { body, answer } = openUpload(target, path, { ...headers, ...this.auth() });
    const reply = answer.then(
      (a) => this.answer<T>('POST', path, a.statusCode, a.text),
      (err: unknown) => {
        throw this.unreachable(target, err);
      },
    );
    return { body, reply };
  }

  /**
   * Sends to the current target; on a body that can be sent again (none, or a string), an
   * unreachable target moves on to the next address and a standby's ERR_NOT_LEADER to the
   * leader it names. A streamed body (a publish) can be sent once only: the leader is found first.
   */
  private async call<T>(method: 'GET' | 'POST', path: string, body?: Readable | string, headers: Record<string, string> = {}): Promise<T> {
    if (typeof body === 'object') {
      await this.followLeader();
      return this.send<T>(this.target, method, path, body, headers);
    }
    const tried = new Set<string>();
    for (;;) {
      tried.add(this.target.base);
      try {
        return await this.send<T>(this.target, method, path, body, headers);
      } catch (err) {
        const next = this.nextTarget(err, tried);
        if (!next) throw err;
        this.target = next;
      }
    }
  }

  /** Where to retry after `err`: the leader a standby named, or the next untried address; undefined to give up. */
  private nextTarget(err: unknown, tried: Set<string>): Target | undefined {
    const code = (err as CanopyError).code;
    if (code === 'ERR_NOT_LEADER') {
      const api = leaderApi((err as CanopyError).details);
      return api && !tried.has(new URL(api).origin) ? this.targetOf(api) : undefined;
    }
    if (code === 'ERR_UNREACHABLE') return this.targets.find((t) => !tried.has(t.base));
    return undefined;
  }

  /**
   * Before a write whose body streams (once per client; a publish calls it before it asks
   * the root's id): talks to the first address that answers from now on, or to the leader
   * it names if it is a standby.
   */
  async followLeader(): Promise<void> {
    if (this.leaderFound) return;
    this.leaderFound = true;
    const tried = new Set<string>();
    for (;;) {
      tried.add(this.target.base);
      try {
        const info = await this.send<{ leader?: { role?: string; leader?: unknown } }>(this.target, 'GET', '/api/node');
        const api = info.leader?.role === 'standby' ? leaderApi({ leader: info.leader.leader }) : undefined;
        if (api) this.target = this.targetOf(api);
        return;
      } catch (err) {
        const next = this.nextTarget(err, tried);
        // Anything else (a token without the read scope, an old node) is left to the write itself to report.
        if (!next) return;
        this.target = next;
      }
    }
  }

  private async send<T>(target: Target, method: 'GET' | 'POST', path: string, body?: Readable | string, headers: Record<string, string> = {}): Promise<T> {
    let res;
    try {
      res = await request(`${target.base}${path}`, { method, body, headers: { ...headers, ...this.auth() }, headersTimeout: 600_000, bodyTimeout: 600_000, ...(target.dispatcher ? { dispatcher: target.dispatcher } : {}) });
    } catch (err) {
      throw this.unreachable(target, err);
    }
    return this.answer<T>(method, path, res.statusCode, await res.body.text());
  }

  private auth(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** A request that got no answer: a certificate that does not verify, or a node that cannot be reached. */
  private unreachable(target: Target, err: unknown): CanopyError {
    const tls = unverifiedServer(err, target.base);
    if (tls) return tls;
    const code = (err as { code?: string }).code ?? (err as Error).message;
    return new CanopyError('ERR_UNREACHABLE', `cannot reach the node API at ${target.base} (${code}); is a network running? Start one with "npm start" or pass --to URL`, { cause: err });
  }

  /** The node's JSON answer, or the error it names (its own code). */
  private answer<T>(method: string, path: string, statusCode: number, text: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CanopyError('ERR_HTTP', `${method} ${path} answered ${statusCode} with a non-JSON body`);
    }
    if (statusCode >= 400) {
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

/** The leader's API URL in an ERR_NOT_LEADER's details, if it names a usable one. */
export function leaderApi(details: Record<string, unknown> | undefined): string | undefined {
  const leader = details?.leader;
  const api = typeof leader === 'object' && leader !== null ? (leader as { api?: unknown }).api : undefined;
  if (typeof api !== 'string') return undefined;
  try {
    const url = new URL(api);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
