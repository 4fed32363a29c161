/**
 * The names an HTTPS server certificate may carry: DNS names and IP addresses, checked
 * before the cluster CA signs them (a member asks for its own over the peer link), so a
 * certificate never holds a wildcard, a URL or a name no resolver could match.
 */
import { isIP } from 'node:net';
import { CanopyError } from '../core/errors.js';

/** More names than any host has; bounds what one request can make the root sign. */
export const MAX_SERVER_NAMES = 32;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Whether `name` is an IP address or a DNS name (no wildcard, no trailing dot). */
export function isServerName(name: string): boolean {
  if (isIP(name)) return true;
  if (name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/** Checked, lower-cased, without duplicates, in the order given; throws ERR_CONFIG_INVALID naming the first bad one. */
export function checkServerNames(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const name = typeof raw === 'string' ? raw.toLowerCase().replace(/^\[|\]$/g, '') : '';
    if (!isServerName(name)) throw new CanopyError('ERR_CONFIG_INVALID', `https.names: "${String(raw).slice(0, 80)}" is not a DNS name or an IP address`);
    if (!out.includes(name)) out.push(name);
  }
  if (out.length === 0) throw new CanopyError('ERR_CONFIG_INVALID', 'https.names: a server certificate needs at least one name');
  if (out.length > MAX_SERVER_NAMES) throw new CanopyError('ERR_CONFIG_INVALID', `https.names: at most ${MAX_SERVER_NAMES} names`);
  return out;
}
