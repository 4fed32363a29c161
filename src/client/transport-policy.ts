/**
 * Bearer tokens never cross a network in clear text unless the operator says so: the CLI
 * sends one over plain http:// only to a loopback address (the node's own host, or the near
 * end of an SSH tunnel). Anything else needs https:// or an explicit --insecure-http
 * (CANOPY_INSECURE_HTTP=1), e.g. inside a private test network.
 */
import { CanopyError } from '../core/errors.js';

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export function checkTokenTransport(url: URL, hasToken: boolean, insecureAllowed: boolean): void {
  if (!hasToken || insecureAllowed || url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return;
  throw new CanopyError('ERR_INSECURE_TRANSPORT', `refusing to send the API token in clear text to ${url.host}: reach the API through an SSH tunnel (ssh -L 7401:127.0.0.1:7401 HOST, then --to http://127.0.0.1:7401), or pass --insecure-http if this network is private`);
}
