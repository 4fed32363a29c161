/**
 * What a command handler (ftp-commands.ts) may see and do of the session it runs in. The
 * session (ftp-session.ts) implements it and runs the handlers; the handlers know only this
 * shape, so the two files do not import each other.
 */
import type tls from 'node:tls';
import type { Logger } from '../../core/logger.js';
import type { VirtualFile } from '../../vfile/virtual-file.js';
import type { FtpTree, TreeContent } from './ftp-tree.js';
import type { FtpUsers } from './ftp-users.js';
import type { PassiveListener } from './passive.js';

export const MAX_LOGIN_FAILURES = 3;

export interface FtpSessionDeps {
  tree: FtpTree;
  users: FtpUsers;
  open: (content: TreeContent) => VirtualFile;
  secureContext: tls.SecureContext | undefined;
  requireTls: boolean;
  log: Logger;
}

export interface SessionState {
  readonly deps: FtpSessionDeps;
  readonly localAddress: string;
  readonly remoteAddress: string | undefined;
  user: string | undefined;
  pendingUser: string | undefined;
  loggedIn: boolean;
  cwd: string;
  restOffset: number;
  secure: boolean;
  pbsz: boolean;
  protectData: boolean;
  loginFailures: number;
  passive: PassiveListener | undefined;
  /** Aborts the running transfer, if any (ABOR, QUIT, connection loss). */
  transfer: AbortController | undefined;
  reply(code: number, text: string | string[]): Promise<void>;
  upgradeToTls(): Promise<void>;
  close(): void;
}
