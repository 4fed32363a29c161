/**
 * Bearer tokens for a node's admin and publishing API, with scopes:
 *   read     GET routes (node info, contents, status, members)
 *   publish  POST /api/contents (and read)
 *   admin    everything, including join tokens, attribute changes, revocation and new API tokens
 * A token is `cat1.<id>.<secret>`; the node keeps only SHA-256 of the secret, in
 * `<data>/security/api-tokens.json` (a root on PostgreSQL keeps the list in its state
 * database instead, so one token works on every root: src/root/state/). On first start the node creates an admin token and
 * writes it to its token file (`<data>/api-token`, or --api-token-file), mode 0600: whoever
 * can read that file administers the node, as with a Docker socket or a kubeconfig.
 *
 * Each token is also an S3 access key pair for the node's S3 read API (src/edge/s3/): the
 * access key id is `CANOPY` + the token id, the secret is derived from the token's secret
 * (s3Credentials), so whoever holds the token can compute it. SigV4 is symmetric, so the
 * node must keep that S3 secret (mode 0600, beside the hashes); it is worth only the token's
 * read access to contents, never its API scopes.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { jsonFileStore, readIfExists, writeSecret } from '../security/secret-file.js';

export const SCOPES = ['read', 'publish', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface StoredToken {
  id: string;
  hash: string;
  scopes: Scope[];
  label: string;
  createdAt: string;
  /** The S3 secret access key (tokens made before the S3 API have none until the node sees the token again). */
  s3?: string;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The S3 key pair of an API token: computable by whoever has the token, offline. */
export function s3Credentials(token: string): S3Credentials | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  return { accessKeyId: `CANOPY${m[1]!.toUpperCase()}`, secretAccessKey: createHmac('sha256', m[2]!).update('canopy-s3-secret-v1').digest('hex').slice(0, 40) };
}

const TOKEN = /^cat1\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

export function parseScopes(text: string): Scope[] {
  const scopes = text.split(/[\s,]+/).filter(Boolean);
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new CanopyError('ERR_USAGE', `scope "${s}" is not one of ${SCOPES.join(', ')}`);
  if (scopes.length === 0) throw new CanopyError('ERR_USAGE', 'at least one scope is needed');
  return [...new Set(scopes)] as Scope[];
}

export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(needed) || (needed === 'read' && scopes.includes('publish'));
}

/** Where the token list is kept: one JSON document, read at start and rewritten whole on change. */
export interface TokenListStore {
  load(): { tokens: StoredToken[] } | undefined;
  save(doc: { tokens: StoredToken[] }): void;
}

/** The default place: `<data>/security/api-tokens.json`, mode 0600. */
export function apiTokensFile(dataDir: string): TokenListStore {
  return jsonFileStore(path.join(dataDir, 'security', 'api-tokens.json'), 0o600);
}

export class ApiTokens {
  private readonly store: TokenListStore;
  private tokens: StoredToken[];

  /** A data directory (its token file) or another store (a root's state database). */
  constructor(where: string | TokenListStore) {
    this.store = typeof where === 'string' ? apiTokensFile(where) : where;
    this.tokens = this.store.load()?.tokens ?? [];
  }

  /** Makes sure the admin token file exists and is known; returns its path. */
  ensureAdminToken(tokenFile: string): string {
    const existing = readIfExists(tokenFile)?.trim();
    if (existing && this.verify(existing)) {
      this.rememberS3(existing);
      return tokenFile;
    }
    const token = existing && TOKEN.test(existing) ? this.adopt(existing) : this.create(['admin'], 'admin (token file)');
    writeSecret(tokenFile, `${token}\n`);
    return tokenFile;
  }

  create(scopes: Scope[], label: string): string {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const token = `cat1.${id}.${secret}`;
    this.tokens.push({ id, hash: sha256(secret).toString('hex'), scopes, label: label.slice(0, 64), createdAt: new Date().toISOString(), s3: s3Credentials(token)!.secretAccessKey });
    this.save();
    return token;
  }

  /** The S3 secret of an access key id (`CANOPY<token id>`) and whether its token may read, or undefined. */
  s3Key(accessKeyId: string): { secret: string; read: boolean } | undefined {
    const m = /^CANOPY([0-9A-F]{16})$/.exec(accessKeyId);
    const stored = m ? this.tokens.find((t) => t.id === m[1]!.toLowerCase()) : undefined;
    return stored?.s3 === undefined ? undefined : { secret: stored.s3, read: grants(stored.scopes, 'read') };
  }

  /** Records the S3 secret of a token this node verified but made before it had an S3 API. */
  private rememberS3(token: string): void {
    const stored = this.tokens.find((t) => t.id === TOKEN.exec(token)?.[1]);
    if (!stored || stored.s3 !== undefined) return;
    stored.s3 = s3Credentials(token)!.secretAccessKey;
    this.save();
  }

  /** The scopes of a presented token, or undefined if it is not one of ours. */
  verify(token: string): Scope[] | undefined {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const stored = this.tokens.find((t) => t.id === m[1]);
    if (!stored) return undefined;
    return timingSafeEqual(sha256(m[2]!), Buffer.from(stored.hash, 'hex')) ? stored.scopes : undefined;
  }

  /** Ids, scopes and labels: never the secrets (the node does not have them). */
  list(): { id: string; scopes: Scope[]; label: string; createdAt: string }[] {
    return this.tokens.map(({ id, scopes, label, createdAt }) => ({ id, scopes, label, createdAt }));
  }

  revoke(id: string): boolean {
    const before = this.tokens.length;
    this.tokens = this.tokens.filter((t) => t.id !== id);
    this.save();
    return this.tokens.length < before;
  }

  /** A token file shared by several nodes (a local network) is accepted as an admin token. */
  private adopt(token: string): string {
    const [, id, secret] = TOKEN.exec(token)!;
    this.tokens.push({ id: id!, hash: sha256(secret!).toString('hex'), scopes: ['admin'], label: 'admin (shared token file)', createdAt: new Date().toISOString(), s3: s3Credentials(token)!.secretAccessKey });
    this.save();
    return token;
  }

  private save(): void {
    this.store.save({ tokens: this.tokens });
  }
}

/** Reads `Authorization: Bearer <token>` and checks it grants `needed`. */
export function authorise(tokens: ApiTokens, header: string | undefined, needed: Scope): void {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  const scopes = m ? tokens.verify(m[1]!) : undefined;
  if (!scopes) throw new CanopyError('ERR_AUTH_REQUIRED', 'this API needs a bearer token (Authorization: Bearer cat1...)');
  if (!grants(scopes, needed)) throw new CanopyError('ERR_SCOPE', `this request needs the "${needed}" scope; the token has ${scopes.join(', ')}`);
}
