/**
 * The FTP edge server: a TCP listener whose connections become FtpSessions over a
 * read-only tree of the contents this node can serve (held, or fetchable on demand
 * because it meets their criteria). Why our own server: docs/FTP.md.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Catalog } from '../../catalog/catalog.js';
import type { Logger } from '../../core/logger.js';
import type { VirtualFile } from '../../vfile/virtual-file.js';
import { FtpSession } from './ftp-session.js';
import { FtpTree, type TreeContent } from './ftp-tree.js';
import type { FtpUsers } from './ftp-users.js';

export interface FtpServerDeps {
  catalog: Catalog;
  /** Whether a content can be offered: held completely, or fetchable on demand. */
  visible: (content: TreeContent) => boolean;
  open: (content: TreeContent) => VirtualFile;
  users: FtpUsers;
  /** Absent when no certificate could be had: AUTH TLS is then refused (431). */
  secureContext: tls.SecureContext | undefined;
  requireTls: boolean;
  log: Logger;
}

export const MAX_SESSIONS = 256;

export interface FtpServer {
  readonly server: net.Server;
  /** Stops listening and ends every session (a running transfer is cut). */
  close(): Promise<void>;
}

export function createFtpServer(deps: FtpServerDeps): FtpServer {
  const tree = new FtpTree(() => deps.catalog.list().filter(deps.visible));
  const sessions = new Set<FtpSession>();
  const server = net.createServer((socket) => {
    if (sessions.size >= MAX_SESSIONS) {
      // No session takes this socket's errors: a client that resets it (or a flood of them)
      // would otherwise end the node with an unheard 'error'.
      socket.on('error', () => socket.destroy());
      socket.end('421 Too many connections, try again later.\r\n');
      return;
    }
    socket.setNoDelay(true);
    const session = new FtpSession(socket, { tree, users: deps.users, open: deps.open, secureContext: deps.secureContext, requireTls: deps.requireTls, log: deps.log });
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        sessions.forEach((s) => s.close());
      }),
  };
}
