/**
 * How the CLI checks a node's HTTPS certificate: against the cluster CA when one is given
 * (`--ca FILE`, or CANOPY_CA_FILE: the CA certificate a node keeps in
 * `<data>/security/ca.crt`), which then is the only CA trusted; otherwise against the
 * system's trusted CAs (an operator's certificate from a public CA), plus the cluster CA
 * that the node in the default data directory learned when it joined
 * (`.canopy/node/security/ca.crt`, as the API token is found in `.canopy/node/`), so the CLI
 * on a node's host checks the root against the CA it joined with and needs no flag. There is
 * no switch to skip the check: an unverified server gets no request and so never sees a token.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { CanopyError } from '../core/errors.js';

/** The dispatcher for requests to `url`: one that trusts only the given CA for https://, the default otherwise. */
export function apiDispatcher(url: URL, caFile = process.env.CANOPY_CA_FILE): Dispatcher | undefined {
  const ca = apiCa(url, caFile);
  return ca === undefined ? undefined : new Agent({ connect: { ca } });
}

/** The CAs an https:// `url` must chain to (the given CA only, or the system's plus the joined one); undefined for the defaults. */
export function apiCa(url: URL, caFile = process.env.CANOPY_CA_FILE): string | string[] | undefined {
  if (url.protocol !== 'https:') return undefined;
  if (!caFile) return joinedCa();
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new CanopyError('ERR_FILE_NOT_FOUND', `--ca ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!isPem(ca)) throw new CanopyError('ERR_USAGE', `--ca ${caFile}: not a PEM certificate (the cluster CA is <data>/security/ca.crt on any node)`);
  return ca;
}

/** The CA the node in the default data directory joined with, added to the system's; none when there is no such node. */
export const JOINED_CA_FILE = path.join('.canopy', 'node', 'security', 'ca.crt');

function joinedCa(): string[] | undefined {
  let ca: string;
  try {
    ca = readFileSync(JOINED_CA_FILE, 'utf8');
  } catch {
    return undefined;
  }
  if (!isPem(ca)) return undefined;
  return [...rootCertificates, ca];
}

function isPem(text: string): boolean {
  return text.includes('-----BEGIN CERTIFICATE-----');
}

/** OpenSSL's and Node's codes for a certificate that does not verify (chain, signature, expiry, host name). */
const UNVERIFIED = /CERT|SIGNATURE|ISSUER|ALTNAME|VERIFY/;

/** A request failure that is a certificate check, as ERR_TLS_UNVERIFIED with what to do; undefined for any other failure. */
export function unverifiedServer(err: unknown, base: string): CanopyError | undefined {
  const code = (err as { code?: string }).code ?? '';
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
  const hit = [code, cause].find((c) => UNVERIFIED.test(c));
  if (!hit) return undefined;
  const hint = process.env.CANOPY_CA_FILE ? `is it issued by the CA in ${process.env.CANOPY_CA_FILE} for this host name?` : 'pass the cluster CA with --ca FILE (or CANOPY_CA_FILE; it is <data>/security/ca.crt on any node)';
  return new CanopyError('ERR_TLS_UNVERIFIED', `the HTTPS certificate of ${base} could not be verified (${hit}); nothing was sent: ${hint}`, { cause: err });
}
