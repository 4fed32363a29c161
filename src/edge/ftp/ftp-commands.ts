/**
 * The FTP commands the server answers: RFC 959 (access, navigation, PASV, TYPE/MODE/STRU,
 * LIST/NLST/RETR, ABOR), RFC 2389 (FEAT/OPTS), RFC 2428 (EPSV), RFC 2228/4217 (AUTH TLS,
 * PBSZ, PROT) and RFC 3659 (SIZE, MDTM, REST STREAM, MLST/MLSD). The tree is read-only:
 * every command that would change it is refused with 550; active mode (PORT/EPRT) is not
 * offered, since passive mode works through NAT and firewalls and keeps data connections
 * initiated by the client.
 */
import type { Duplex } from 'node:stream';
import { CanopyError } from '../../core/errors.js';
import { plain, type Slice } from '../../vfile/virtual-file.js';
import { sendSlices } from '../stream-body.js';
import { parseRestOffset } from './command.js';
import { MAX_LOGIN_FAILURES, type SessionState as FtpSession } from './session-state.js';
import { normalisePath, type DirItem } from './ftp-tree.js';
import { listLine, mdtm, mlsxFacts } from './listing.js';
import { handshaken, PassiveListener } from './passive.js';

type Handler = (s: FtpSession, arg: string) => Promise<void>;

const FEATURES = ['Extensions supported:', 'AUTH TLS', 'PBSZ', 'PROT', 'EPSV', 'PASV', 'SIZE', 'MDTM', 'REST STREAM', 'MLST type*;size*;modify*;perm*;', 'UTF8', 'TVFS', 'End'];
const OPEN_VERBS = new Set(['USER', 'PASS', 'AUTH', 'PBSZ', 'PROT', 'FEAT', 'SYST', 'QUIT', 'NOOP', 'OPTS', 'HELP']);
const WRITE_VERBS = new Set(['STOR', 'STOU', 'APPE', 'DELE', 'RMD', 'XRMD', 'MKD', 'XMKD', 'RNFR', 'RNTO', 'SITE', 'ALLO']);

export async function runCommand(s: FtpSession, verb: string, arg: string): Promise<void> {
  if (!s.loggedIn && !OPEN_VERBS.has(verb)) return s.reply(530, 'Please log in with USER and PASS.');
  if (WRITE_VERBS.has(verb)) return s.reply(550, 'Permission denied: this tree is read-only.');
  const handler = HANDLERS[verb];
  if (!handler) return s.reply(502, `${verb} not implemented.`);
  return handler(s, arg);
}

const HANDLERS: Record<string, Handler> = {
  async USER(s, arg) {
    if (s.deps.requireTls && !s.secure) return s.reply(530, 'TLS is required: send AUTH TLS first.');
    s.loggedIn = false;
    s.pendingUser = arg;
    return s.reply(331, `Password required for ${arg.slice(0, 64)}.`);
  },
  async PASS(s, arg) {
    if (s.pendingUser === undefined) return s.reply(503, 'Send USER first.');
    if (s.deps.users.check(s.pendingUser, arg)) {
      s.loggedIn = true;
      s.user = s.pendingUser;
      s.cwd = '/';
      return s.reply(230, 'Logged in; the tree is read-only.');
    }
    s.pendingUser = undefined;
    if (++s.loginFailures >= MAX_LOGIN_FAILURES) {
      await s.reply(421, 'Too many failed logins, closing.');
      return s.close();
    }
    return s.reply(530, 'Login incorrect.');
  },
  async AUTH(s, arg) {
    const mech = arg.toUpperCase();
    if (mech !== 'TLS' && mech !== 'TLS-C' && mech !== 'SSL') return s.reply(504, `AUTH ${arg.slice(0, 16)} not supported; use AUTH TLS.`);
    if (s.secure) return s.reply(503, 'Already using TLS.');
    await s.upgradeToTls();
  },
  async PBSZ(s, arg) {
    if (!s.secure) return s.reply(503, 'PBSZ needs AUTH TLS first.');
    if (!/^\d+$/.test(arg)) return s.reply(501, 'PBSZ takes a number.');
    s.pbsz = true;
    return s.reply(200, 'PBSZ=0');
  },
  async PROT(s, arg) {
    if (!s.secure || !s.pbsz) return s.reply(503, 'PROT needs AUTH TLS and PBSZ first.');
    const level = arg.toUpperCase();
    if (level === 'P' || level === 'C') {
      s.protectData = level === 'P';
      return s.reply(200, `Protection level set to ${level}.`);
    }
    return s.reply(level === 'S' || level === 'E' ? 536 : 504, `Protection level ${arg.slice(0, 4)} not supported.`);
  },
  FEAT: (s) => s.reply(211, FEATURES),
  SYST: (s) => s.reply(215, 'UNIX Type: L8'),
  NOOP: (s) => s.reply(200, 'OK.'),
  HELP: (s) => s.reply(214, 'Commands: USER PASS AUTH PBSZ PROT FEAT SYST PWD CWD CDUP TYPE MODE STRU PASV EPSV SIZE MDTM REST RETR LIST NLST MLSD MLST STAT ABOR NOOP QUIT.'),
  async OPTS(s, arg) {
    const [name] = arg.toUpperCase().split(' ');
    if (name === 'UTF8' || name === 'MLST') return s.reply(200, `${name} OK.`);
    return s.reply(501, 'Option not understood.');
  },
  async QUIT(s) {
    await s.reply(221, 'Goodbye.');
    s.close();
  },
  PWD: (s) => s.reply(257, `"${s.cwd.replace(/"/g, '""')}" is the current directory.`),
  XPWD: (s, a) => HANDLERS.PWD!(s, a),
  async CWD(s, arg) {
    const target = normalisePath(s.cwd, arg || '/');
    if (s.deps.tree.resolve(target)?.kind !== 'dir') return s.reply(550, 'No such directory.');
    s.cwd = target;
    return s.reply(250, `Directory changed to ${target}.`);
  },
  XCWD: (s, a) => HANDLERS.CWD!(s, a),
  CDUP: (s) => HANDLERS.CWD!(s, '..'),
  XCUP: (s) => HANDLERS.CWD!(s, '..'),
  async TYPE(s, arg) {
    const t = arg.toUpperCase().replace(/\s+/g, ' ');
    if (['A', 'A N', 'I', 'L 8'].includes(t)) return s.reply(200, `Type set to ${t}.`);
    return s.reply(504, `Type ${arg.slice(0, 8)} not supported.`);
  },
  MODE: (s, arg) => (arg.toUpperCase() === 'S' ? s.reply(200, 'Mode S.') : s.reply(504, 'Only stream mode.')),
  STRU: (s, arg) => (arg.toUpperCase() === 'F' ? s.reply(200, 'Structure F.') : s.reply(504, 'Only file structure.')),
  async PASV(s) {
    const host = s.localAddress.replace(/^::ffff:/, '');
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) return s.reply(425, 'PASV needs IPv4; use EPSV.');
    const p = await openPassive(s);
    return s.reply(227, `Entering Passive Mode (${host.split('.').join(',')},${p >> 8},${p & 255}).`);
  },
  async EPSV(s, arg) {
    if (arg.toUpperCase() === 'ALL') return s.reply(200, 'EPSV ALL accepted.');
    if (arg !== '' && arg !== '1' && arg !== '2') return s.reply(522, 'Network protocol not supported, use (1,2).');
    const p = await openPassive(s);
    return s.reply(229, `Entering Extended Passive Mode (|||${p}|).`);
  },
  PORT: (s) => s.reply(502, 'Active mode is not supported; use PASV or EPSV.'),
  EPRT: (s) => s.reply(502, 'Active mode is not supported; use PASV or EPSV.'),
  async SIZE(s, arg) {
    const e = s.deps.tree.resolve(normalisePath(s.cwd, arg));
    return e?.kind === 'file' ? s.reply(213, String(e.size)) : s.reply(550, 'No such file.');
  },
  async MDTM(s, arg) {
    const e = s.deps.tree.resolve(normalisePath(s.cwd, arg));
    return e?.kind === 'file' ? s.reply(213, mdtm(e.modified)) : s.reply(550, 'No such file.');
  },
  async REST(s, arg) {
    const offset = parseRestOffset(arg);
    if (offset === undefined) return s.reply(501, 'REST takes a byte offset.');
    s.restOffset = offset;
    return s.reply(350, `Restarting at ${offset}. Send RETR to start.`);
  },
  async RETR(s, arg) {
    const offset = s.restOffset;
    s.restOffset = 0;
    const e = s.deps.tree.resolve(normalisePath(s.cwd, arg));
    if (e?.kind !== 'file') return s.reply(550, 'No such file.');
    const { size, offset: at } = e;
    if (offset > size) return s.reply(554, `REST offset ${offset} is beyond the end (${size}).`);
    const file = s.deps.open(e.content);
    // A file of a directory content is the range [at, at + size) of the content's bytes.
    if (offset < size && !file.canServe(at + offset, at + size - 1)) return s.reply(550, 'This node does not hold that file and may not fetch it.');
    await transfer(s, `${e.name} (${size - offset} bytes)`, (signal) => (offset < size ? file.slices(at + offset, at + size - 1, signal) : empty()));
  },
  LIST: (s, arg) => listing(s, arg, (items) => items.map((i) => listLine(i))),
  NLST: (s, arg) => listing(s, arg, (items) => items.map((i) => i.name)),
  MLSD: (s, arg) => listing(s, arg, (items) => items.map(mlsxFacts), true),
  async MLST(s, arg) {
    const target = normalisePath(s.cwd, arg);
    const entry = s.deps.tree.resolve(target);
    if (!entry) return s.reply(550, 'No such file or directory.');
    const item: DirItem = entry.kind === 'file' ? { name: target, kind: 'file', size: entry.size, modified: entry.modified } : { name: target, kind: 'dir', size: 0, modified: new Date(0) };
    return s.reply(250, ['Listing', mlsxFacts(item), 'End']);
  },
  async STAT(s, arg) {
    if (arg !== '') return s.reply(504, 'STAT with an argument is not supported; use LIST.');
    return s.reply(211, ['Canopy FTP status', `Logged in as ${s.user ?? '-'}`, `TLS ${s.secure ? 'on' : 'off'}, data ${s.protectData ? 'protected' : 'clear'}`, 'End']);
  },
  async ABOR(s) {
    // A running transfer was already aborted when the line arrived; its RETR answered 426.
    return s.reply(226, 'ABOR successful.');
  },
};

async function openPassive(s: FtpSession): Promise<number> {
  s.passive?.close();
  s.passive = await PassiveListener.open(s.localAddress, s.remoteAddress);
  return s.passive.port;
}

async function listing(s: FtpSession, arg: string, format: (items: DirItem[]) => string[], strict = false): Promise<void> {
  // Clients often pass ls flags (LIST -la); they are not paths.
  const path = arg.split(' ').filter((a) => !a.startsWith('-')).join(' ');
  const target = normalisePath(s.cwd, path);
  const items = s.deps.tree.list(target);
  if (!items || (strict && s.deps.tree.resolve(target)?.kind !== 'dir')) return s.reply(550, 'No such directory.');
  const text = format(items).map((l) => `${l}\r\n`).join('');
  await transfer(s, 'directory listing', async function* () {
    if (text) yield plain(Buffer.from(text, 'utf8'));
  });
}

async function* empty(): AsyncGenerator<Slice> {}

/**
 * Runs one data transfer over the passive connection: 150, bytes with backpressure, then 226
 * (or 426 if aborted). The file's slices are written as the HTTP edge writes them
 * (`sendSlices`): straight from the pooled block buffers, each given back from its write's
 * callback, instead of copied out of the pool first (`read`).
 */
async function transfer(s: FtpSession, what: string, body: (signal: AbortSignal) => AsyncIterable<Slice>): Promise<void> {
  const passive = s.passive;
  s.passive = undefined;
  if (!passive) return s.reply(425, 'Use PASV or EPSV first.');
  // A server that requires TLS requires it for data too (as vsftpd's force_local_data_ssl).
  if (s.deps.requireTls && !s.protectData) {
    passive.close();
    return s.reply(522, 'Data connections must be encrypted: send PBSZ 0 and PROT P.');
  }
  const abort = new AbortController();
  s.transfer = abort;
  let data: Duplex | undefined;
  try {
    data = await passive.accept(s.protectData ? s.deps.secureContext : undefined, abort.signal);
    await s.reply(150, `Opening ${s.protectData ? 'TLS ' : ''}data connection for ${what}.`);
    const conn = data;
    // ABOR, QUIT or a lost control connection cuts the data connection (the write loop then stops).
    const cut = () => conn.destroy(new CanopyError('ERR_CONNECTION_CLOSED', 'transfer aborted'));
    abort.signal.addEventListener('abort', cut, { once: true });
    // A client that resets the data connection fails the transfer (the write loop sees it
    // destroyed), never the process: an 'error' with no listener would be thrown.
    let failure: Error | undefined;
    const onError = (err: Error) => (failure ??= err);
    conn.on('error', onError);
    try {
      await sendSlices(conn, settledWhenEmpty(body(abort.signal), conn));
    } catch (err) {
      throw failure ?? err;
    } finally {
      abort.signal.removeEventListener('abort', cut);
    }
    await s.reply(226, 'Transfer complete.');
  } catch (err) {
    data?.destroy();
    if (abort.signal.aborted) await s.reply(426, 'Connection closed; transfer aborted.');
    else await s.reply(data ? 451 : 425, `${data ? 'Transfer failed' : 'Cannot open data connection'}: ${(err as Error).message}`.slice(0, 300));
  } finally {
    passive.close();
    if (s.transfer === abort) s.transfer = undefined;
  }
}

/**
 * A transfer of zero bytes (an empty file, REST at the end) must not close a protected data
 * connection before its TLS handshake is done (see handshaken). Only an empty one waits:
 * waiting before a non-empty transfer made Python's ftplib fail its shutdown after MLSD
 * (SHUTDOWN_WHILE_IN_INIT), and bytes written early are simply sent once the handshake ends.
 */
async function* settledWhenEmpty(body: AsyncIterable<Slice>, data: Duplex): AsyncGenerator<Slice> {
  let sent = false;
  for await (const chunk of body) {
    sent ||= chunk.bytes.length > 0;
    yield chunk;
  }
  if (!sent) await handshaken(data);
}
