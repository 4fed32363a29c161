/**
 * One FTP control connection: reads command lines, runs them one at a time (ABOR jumps
 * the queue so it can stop a running transfer), upgrades to TLS on AUTH TLS, and owns the
 * session state (user, working directory, REST offset, passive listener, PROT level).
 * The commands themselves live in ftp-commands.ts.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { LineSplitter, parseCommand } from './command.js';
import { runCommand } from './ftp-commands.js';
import type { FtpSessionDeps, SessionState } from './session-state.js';
import type { PassiveListener } from './passive.js';


export const IDLE_TIMEOUT_MS = 300_000;

export type { FtpSessionDeps };

export class FtpSession implements SessionState {
  control: Duplex;
  user: string | undefined;
  pendingUser: string | undefined;
  loggedIn = false;
  cwd = '/';
  restOffset = 0;
  secure = false;
  pbsz = false;
  protectData = false;
  loginFailures = 0;
  passive: PassiveListener | undefined;
  /** Aborts the running transfer, if any (ABOR, QUIT, connection loss). */
  transfer: AbortController | undefined;
  private readonly splitter = new LineSplitter();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    readonly deps: FtpSessionDeps,
  ) {
    this.control = socket;
    socket.setEncoding('utf8');
    socket.setTimeout(IDLE_TIMEOUT_MS, () => {
      // The control connection is quiet during a long transfer; that is not idleness.
      if (this.transfer) socket.setTimeout(IDLE_TIMEOUT_MS);
      else void this.reply(421, 'Idle timeout, closing control connection.').then(() => this.close());
    });
    socket.on('data', this.onData);
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    void this.reply(220, 'Canopy FTP server ready (read-only).');
  }

  get localAddress(): string {
    return this.socket.localAddress ?? '127.0.0.1';
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  reply(code: number, text: string | string[]): Promise<void> {
    const lines = Array.isArray(text) ? text : [text];
    const body = lines.length === 1 ? `${code} ${lines[0]}\r\n` : `${code}-${lines[0]}\r\n${lines.slice(1, -1).map((l) => ` ${l}\r\n`).join('')}${code} ${lines[lines.length - 1]}\r\n`;
    if (this.closed || this.control.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.control.write(body, () => resolve()));
  }

  /**
   * Switches the control connection to TLS (RFC 4217 §4): reading stops before the 234
   * reply goes out, so the client's handshake is never taken for a command.
   */
  async upgradeToTls(): Promise<void> {
    const secureContext = this.deps.secureContext;
    if (!secureContext) return this.reply(431, 'TLS is not available on this server (no certificate).');
    this.socket.off('data', this.onData);
    this.socket.pause();
    this.splitter.reset();
    await this.reply(234, 'AUTH TLS successful, start negotiation.');
    const secure = new tls.TLSSocket(this.socket, { isServer: true, secureContext });
    secure.setEncoding('utf8');
    secure.on('data', this.onData);
    secure.on('error', () => this.close());
    this.control = secure;
    this.secure = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transfer?.abort();
    this.passive?.close();
    this.control.destroy();
    this.socket.destroy();
  }

  private readonly onData = (chunk: string): void => {
    const { lines, overflow } = this.splitter.push(chunk);
    for (const raw of lines) {
      // Telnet IP/Synch sequences may precede ABOR (RFC 959 §4.1.3); they are not part of the verb.
      const parsed = parseCommand(raw.replace(/^[^A-Za-z]+/, ''));
      if (parsed.ok && parsed.verb === 'ABOR') this.transfer?.abort();
      this.queue = this.queue.then(() => this.run(parsed));
      // Plaintext sent after AUTH, before the handshake, must not be obeyed.
      if (parsed.ok && parsed.verb === 'AUTH' && !this.secure && this.deps.secureContext) break;
    }
    if (overflow) {
      this.socket.off('data', this.onData);
      this.control.off('data', this.onData);
      this.queue = this.queue.then(() => this.reply(500, 'Command line too long.')).then(() => this.close());
    }
  };

  private async run(parsed: ReturnType<typeof parseCommand>): Promise<void> {
    if (this.closed) return;
    if (!parsed.ok) return this.reply(500, `Syntax error: ${parsed.reason}.`);
    try {
      await runCommand(this, parsed.verb, parsed.arg);
    } catch (err) {
      this.deps.log.warn('ftp command failed', { verb: parsed.verb, err: err as Error });
      await this.reply(451, `Requested action aborted: ${(err as Error).message}`.slice(0, 300));
    }
  }
}
