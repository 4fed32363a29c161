/**
 * fetch() for a LocalNetwork's admin APIs: adds the network's bearer token (LocalNetwork
 * exports its token file as CANOPY_API_TOKEN_FILE), and `withToken` makes a page URL that
 * logs a browser in (the token becomes an HttpOnly cookie).
 */
import { findApiToken } from '../../src/client/api-token.js';

export function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${findApiToken()}`);
  return fetch(url, { ...init, headers });
}

export function withToken(url: string): string {
  const u = new URL(url);
  u.searchParams.set('token', findApiToken() ?? '');
  return u.toString();
}

export function authHeader(): Record<string, string> {
  return { authorization: `Bearer ${findApiToken()}` };
}

/** One value of a node's Prometheus metrics (the first group of `pattern`), NaN when absent. */
export async function metric(api: string, pattern: RegExp): Promise<number> {
  const text = await (await apiFetch(`${api}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : NaN;
}
