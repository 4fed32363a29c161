/**
 * The FTP server's session limit (src/edge/ftp/ftp-server.ts, MAX_SESSIONS): a connection past
 * it is told 421 and closed. One that the client resets meanwhile must cost that connection
 * only: before, its socket had no 'error' listener, so a reset ended the whole node.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_SESSIONS, type FtpServer } from '../../../../src/edge/ftp/ftp-server.js';
import { BlockStore } from '../../../../src/store/block-store.js';
import { startFtp } from '../../../helpers/ftp-server.js';

/** Connects and waits for the server's first line. */
async function greeted(port: number): Promise<{ socket: net.Socket; line: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const [line] = (await once(socket, 'data')) as [string];
  return { socket, line };
}

describe('ftp session limit', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-ftp-limit-'));
  let store: BlockStore;
  let ftp: FtpServer;
  let port = 0;
  before(async () => {
    store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
    ({ ftp, port } = await startFtp(store));
  });
  after(async () => {
    await ftp.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns away connections past the limit, even ones reset at once, and serves again once one ends', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < MAX_SESSIONS; i++) {
        const { socket, line } = await greeted(port);
        assert.match(line, /^220 /);
        held.push(socket);
      }
      const over = await greeted(port);
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
      const again = await greeted(port);
      assert.match(again.line, /^220 /, 'a session again once one ended');
      again.socket.destroy();
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
