/**
 * The root addresses a member knows, kept in `<data>/roots.json`: those it was started with
 * (`--join a,b`, or its join token's list) and those the root it joins names (several roots
 * on one database: the join reply lists every root seen lately). A member restarted with
 * neither `--join` nor its token reads them here, so it still finds whichever root leads when
 * the first one it knew is gone. Written atomically (temp file, fsync, rename): a kill leaves
 * the old or the new list, never half of one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../security/secret-file.js';
import { MAX_TOKEN_ROOTS } from '../security/join-token.js';
import { formatAddress, parseAddress, type PeerAddress } from '../wire/transport.js';

export const KNOWN_ROOTS_FILE = 'roots.json';

/** Root addresses from untrusted JSON (a file, a join reply): strings that parse as host:port, deduplicated, at most 16; anything else is dropped. */
export function parseRootList(value: unknown): PeerAddress[] {
  if (!Array.isArray(value)) return [];
  const out: PeerAddress[] = [];
  for (const v of value) {
    const a = typeof v === 'string' ? parseAddress(v) : null;
    if (a && a.port > 0 && !out.some((o) => sameAddress(o, a))) out.push(a);
    if (out.length === MAX_TOKEN_ROOTS) break;
  }
  return out;
}

/** `known` then what `learned` adds, at most 16 (the addresses a member dials, in this order). */
export function mergeRoots(known: readonly PeerAddress[], learned: readonly PeerAddress[]): PeerAddress[] {
  return parseRootList([...known, ...learned].map(formatAddress));
}

export function sameAddress(a: PeerAddress, b: PeerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

/** The saved list; none when the file is missing or unreadable (the node then needs --join or a token, and says so). */
export function readKnownRoots(dataDir: string): PeerAddress[] {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, KNOWN_ROOTS_FILE), 'utf8');
  } catch {
    return [];
  }
  try {
    return parseRootList((JSON.parse(text) as { roots?: unknown }).roots);
  } catch {
    return [];
  }
}

/** Saves the list if it differs from the saved one (no write at every join). */
export function saveKnownRoots(dataDir: string, roots: readonly PeerAddress[]): void {
  const list = roots.map(formatAddress);
  if (list.length === 0 || JSON.stringify(readKnownRoots(dataDir).map(formatAddress)) === JSON.stringify(list)) return;
  writeFileAtomic(path.join(dataDir, KNOWN_ROOTS_FILE), `${JSON.stringify({ roots: list }, null, 2)}\n`);
}
