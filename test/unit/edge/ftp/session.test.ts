/**
 * The FTP session against arbitrary command sequences over a real socket: every line gets
 * one well-formed reply, the server never crashes, and nothing but 550/530 comes back for
 * paths outside the tree; past the session limit, a connection gets 421 and costs only itself.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_SESSIONS, type FtpServer } from '../../../../src/edge/ftp/ftp-server.js';
import { BlockStore } from '../../../../src/store/block-store.js';
import { startFtp } from '../../../helpers/ftp-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'canopy-i7-ftp-session-'));
let store: BlockStore;
let ftp: FtpServer;
let port = 0;

before(async () => {
  store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
  ({ ftp, port } = await startFtp(store, undefined, dir));
});
after(async () => {
  await ftp.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends each line and waits for its final reply line (code + space). */
async function converse(lines: string[]): Promise<string[]> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const finals: string[] = [];
  let wake = () => {};
  socket.on('data', (d: string) => {
    buffer += d;
    for (let m; (m = /^(\d{3}) .*\r\n/m.exec(buffer)); ) {
      finals.push(m[0].trimEnd());
      buffer = buffer.slice(m.index + m[0].length);
    }
    wake();
  });
  let closed = false;
  socket.on('close', () => {
    closed = true;
    wake();
  });
  const waitFor = (n: number) => new Promise<void>((resolve) => {
    const check = () => (finals.length >= n || closed ? resolve() : (wake = check));
    check();
  });
  await waitFor(1);
  for (const line of lines) {
    if (closed) break;
    const n = finals.length + 1;
    socket.write(`${line}\r\n`);
    await waitFor(n);
  }
  socket.destroy();
  return finals;
}

describe('FTP session', () => {
  it('answers any command sequence with well-formed replies and never leaves the tree', async () => {
    const verbs = ['USER u', 'PASS p', 'PASS x', 'PWD', 'CWD', 'CDUP', 'SIZE', 'MDTM', 'REST', 'TYPE', 'MODE', 'STRU', 'FEAT', 'SYST', 'NOOP', 'MLST', 'STAT', 'OPTS', 'DELE', 'PORT', 'PBSZ 0', 'PROT P', 'HELP', 'ABOR', 'xyz'];
    const arg = fc.string({ unit: fc.constantFrom('/', '.', 'a', 'by-id', ' ', '1', '-', '"', 'é'), maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...verbs), arg), { minLength: 1, maxLength: 12 }), async (cmds) => {
        const lines = cmds.map(([v, a]) => (v.includes(' ') ? v : `${v} ${a}`.trimEnd()));
        const replies = await converse(lines);
        assert.match(replies[0]!, /^220 /);
        for (const r of replies) assert.match(r, /^[1-5]\d\d /);
        for (const r of replies) if (r.startsWith('257')) assert.match(r, /^257 "\/[^]*" /);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps no descriptor of a client that hangs up right after PASV or EPSV (issue 25)', async () => {
    // Compare which sockets are open, not how many descriptors: an unrelated descriptor that an
    // earlier test left closing (seen under Node 24: one fewer after) must neither fail nor hide a leak.
    const sockets = () => {
      const out = new Set<string>();
      for (const fd of readdirSync('/proc/self/fd')) {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          if (target.startsWith('socket:')) out.add(target);
        } catch {
          // The descriptor closed between the listing and the read: it is not open.
        }
      }
      return out;
    };
    await sleep(100);
    const before = sockets();
    for (let i = 0; i < 24; i++) {
      const s = net.connect(port, '127.0.0.1');
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      await once(s, 'data');
      s.write('USER u\r\nPASS p\r\n');
      while (!text.includes('230 ')) await once(s, 'data');
      // Cut (RST) or half-closed, at once or after the reply: the passive listener must go with the session.
      s.write(i % 2 ? 'EPSV\r\n' : 'PASV\r\n');
      if (i % 4 >= 2) await once(s, 'data');
      if (i % 3 === 0) s.destroy();
      else s.end();
      if (!s.closed) await once(s, 'close');
    }
    await sleep(300);
    const leaked = [...sockets()].filter((s) => !before.has(s));
    // A leaked listener would also keep this test process from ever exiting: end it instead of hanging CI.
    if (leaked.length > 0) setTimeout(() => process.exit(1), 2_000).unref();
    assert.deepEqual(leaked, []);
  });

  // Last in this server's tests: it takes every session there is.
  it('turns away connections past the session limit, even ones reset at once, and serves again once one ends', async () => {
    // A connection past MAX_SESSIONS is told 421 and closed. One the client resets meanwhile must
    // cost that connection only: before, its socket had no 'error' listener, so a reset ended the node.
    const greeted = async (): Promise<{ socket: net.Socket; line: string }> => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setEncoding('utf8');
      const [line] = (await once(socket, 'data')) as [string];
      return { socket, line };
    };
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < MAX_SESSIONS; i++) {
        const { socket, line } = await greeted();
        assert.match(line, /^220 /);
        held.push(socket);
      }
      const over = await greeted();
      assert.match(over.line, /^421 /);
      over.socket.destroy();
      // Connections past the limit, reset by the client as soon as they are open (RST, not FIN).
      for (let i = 0; i < 50; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        await once(s, 'connect');
        s.resetAndDestroy();
      }
      await sleep(200);
      held.pop()!.destroy();
      await sleep(100);
      const again = await greeted();
      assert.match(again.line, /^220 /, 'a session again once one ended');
      again.socket.destroy();
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe('FTP without a certificate', () => {
  it('refuses AUTH TLS with 431 and keeps serving in the clear', async () => {
    const dir2 = mkdtempSync(path.join(tmpdir(), 'canopy-i7-ftp-notls-'));
    const store2 = new BlockStore(dir2, [{ path: path.join(dir2, 'v0') }]);
    const { ftp: plain, port: plainPort } = await startFtp(store2);
    const saved = port;
    port = plainPort;
    try {
      const replies = await converse(['AUTH TLS', 'USER u', 'PASS p', 'PWD']);
      assert.deepEqual(replies.map((r) => r.slice(0, 3)), ['220', '431', '331', '230', '257']);
    } finally {
      port = saved;
      await plain.close();
      store2.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
