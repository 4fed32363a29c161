/** Limits of one peer connection, over real loopback sockets: slow senders are cut, floods are throttled but answered, schemas refuse junk. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError, isCanopyError } from '../../../src/core/errors.js';
import { checkBody, isMessageType } from '../../../src/wire/messages.js';
import { PeerConnection, type PeerConnectionLimits, type RequestHandler } from '../../../src/wire/peer-connection.js';

async function pair(handler: RequestHandler, limits: PeerConnectionLimits): Promise<{ server: Promise<PeerConnection>; client: net.Socket; close: () => void }> {
  let resolveConn!: (c: PeerConnection) => void;
  const server = new Promise<PeerConnection>((r) => (resolveConn = r));
  const srv = net.createServer((s) => resolveConn(new PeerConnection(s, handler, limits)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return { server, client, close: () => (client.destroy(), srv.close()) };
}

describe('peer connection limits', () => {
  it('cuts a peer that starts a frame and never finishes it', async () => {
    const p = await pair(async () => undefined, { frameTimeoutMs: 200 });
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(100, 0);
    p.client.write(prefix);
    p.client.write('{"t":');
    const conn = await p.server;
    const [err] = (await once(conn, 'close')) as [Error | undefined];
    assert.ok(isCanopyError(err, 'ERR_TIMEOUT'), String(err));
    p.close();
  });

  it('throttles a request flood but answers every request', async () => {
    let handled = 0;
    const p = await pair(async () => {
      handled++;
      return { body: { n: handled } };
    }, { requestRate: 200, requestBurst: 10 });
    const client = new PeerConnection(p.client, async () => undefined);
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => client.request('holders', { contentId: i.toString(16).padStart(64, '0') })));
    assert.equal(replies.length, 100);
    assert.equal(handled, 100);
    client.destroy();
    p.close();
  });

  it('message schemas refuse any junk with a coded error', () => {
    fc.assert(
      fc.property(fc.constantFrom('hello', 'join', 'announce', 'progress', 'holders', 'get-block', 'trust-update'), fc.dictionary(fc.constantFrom('nodeId', 'name', 'record', 'version', 'peer', 'records', 'revocations', 'contentId', 'index'), fc.anything()), (t, header) => {
        assert.ok(isMessageType(t));
        try {
          checkBody(t, header);
        } catch (err) {
          if (!(err instanceof CanopyError) || err.code !== 'ERR_WIRE_PROTOCOL') throw err;
        }
      }),
    );
  });
});
