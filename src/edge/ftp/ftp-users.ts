/**
 * FTP accounts: `name:password` pairs from the node's configuration. Passwords are kept
 * only as SHA-256 digests and compared in constant time. With no account configured,
 * nobody can log in (an FTP server open to all must be asked for: `anonymous` allowed).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CanopyError } from '../../core/errors.js';

export interface FtpUserSpec {
  name: string;
  password: string;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class FtpUsers {
  private readonly users = new Map<string, Buffer>();

  constructor(
    specs: readonly FtpUserSpec[],
    private anonymous = false,
  ) {
    this.replace(specs, anonymous);
  }

  /** New accounts (SIGHUP reload): sessions already logged in keep going, new logins use these. */
  replace(specs: readonly FtpUserSpec[], anonymous: boolean): void {
    this.users.clear();
    for (const s of specs) this.users.set(s.name, digest(s.password));
    this.anonymous = anonymous;
  }

  /** Whether `name` may log in with `password` (any password for `anonymous` when allowed). */
  check(name: string, password: string): boolean {
    if (this.anonymous && (name === 'anonymous' || name === 'ftp')) return true;
    const want = this.users.get(name);
    const got = digest(password);
    return want !== undefined && timingSafeEqual(want, got);
  }
}

/** Parses `name:password` (from --ftp-user or one line of an --ftp-users file). */
export function parseUserSpec(text: string, where = '--ftp-user'): FtpUserSpec {
  const colon = text.indexOf(':');
  const name = text.slice(0, colon);
  if (colon <= 0 || !/^[\w.@-]{1,64}$/.test(name) || colon === text.length - 1) throw new CanopyError('ERR_CONFIG_INVALID', `${where}: expected name:password with a name of letters, digits, ._@-`);
  return { name, password: text.slice(colon + 1) };
}

/** Reads a users file: one `name:password` per line, blank lines and # comments ignored. */
export function readUsersFile(file: string): FtpUserSpec[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanopyError('ERR_CONFIG_INVALID', `ftpUsersFile: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l, i) => parseUserSpec(l, `${file} line ${i + 1}`));
}
