/**
 * RETR writes a file's slices straight from the pooled block buffers (stream-body.ts
 * `sendSlices`, as the HTTP edge does), each released from its write's callback. With the
 * pool's poison mode on (scripts/run-tests.mjs), a slice released before the socket (or TLS)
 * was done with it would reach the client as poison bytes. A real client (basic-ftp), plain
 * and with a TLS data channel, a resumed download, and a client that hangs up mid-file:
 * every byte right, every buffer back in the pool.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from 'basic-ftp';
import { Catalog } from '../../../../src/catalog/catalog.js';
import { blockPool } from '../../../../src/core/block-pool.js';
import { sha256Hex } from '../../../../src/core/hash.js';
import type { FtpServer } from '../../../../src/edge/ftp/ftp-server.js';
import { BlockStore } from '../../../../src/store/block-store.js';
import { startFtp } from '../../../helpers/ftp-server.js';
import { makeManifest } from '../../../helpers/manifests.js';

const BLOCK = 256 * 1024;
// More than loopback's socket buffers hold, so a stalled client makes the server queue slices.
const bytes = randomBytes(64 * BLOCK + 1000);
const dir = mkdtempSync(path.join(tmpdir(), 'canopy-ftp-retr-'));
let store: BlockStore;
let ftp: FtpServer;
let port = 0;

before(async () => {
  store = new BlockStore(dir, [{ path: path.join(dir, 'v0') }]);
  for (let at = 0; at < bytes.length; at += BLOCK) await store.put(bytes.subarray(at, at + BLOCK));
  const manifest = makeManifest({ size: bytes.length, blockSize: BLOCK, tracks: [{ offset: 0, length: bytes.length }], hashOf: (b) => sha256Hex(bytes.subarray(b.offset, b.offset + b.length)) });
  const catalog = new Catalog(store);
  catalog.addOwn(manifest);
  ({ ftp, port } = await startFtp(store, catalog, dir));
});
after(async () => {
  await ftp.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Collects what a download writes; `stallMs`: stops reading that long after the first chunk (the server's writes then queue). */
function sink(stallMs = 0): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const write = (c: Buffer, _e: unknown, cb: () => void) => {
    parts.push(Buffer.from(c));
    if (parts.length === 1 && stallMs > 0) setTimeout(cb, stallMs);
    else cb();
  };
  return { stream: new Writable({ highWaterMark: 1024, write }), bytes: () => Buffer.concat(parts) };
}

async function client(secure: boolean): Promise<Client> {
  const c = new Client(10_000);
  await c.access({ host: '127.0.0.1', port, user: 'u', password: 'p', secure, secureOptions: { rejectUnauthorized: false } });
  return c;
}

async function settled(before: number): Promise<void> {
  for (let i = 0; i < 200 && blockPool.stats().leased !== before; i++) await sleep(10);
  assert.equal(blockPool.stats().leased, before, 'every block buffer is back in the pool');
}

describe('FTP RETR from pooled slices', () => {
  for (const secure of [false, true]) {
    it(`downloads the whole file and a resumed tail byte for byte (${secure ? 'TLS data channel' : 'plain'})`, async () => {
      const before = blockPool.stats().leased;
      const c = await client(secure);
      try {
        for (let round = 0; round < 2; round++) {
          const whole = sink(round === 0 ? 400 : 0);
          await c.downloadTo(whole.stream, 'a.bin');
          assert.ok(whole.bytes().equals(bytes));
          const tail = sink();
          await c.downloadTo(tail.stream, 'a.bin', BLOCK + 77);
          assert.ok(tail.bytes().equals(bytes.subarray(BLOCK + 77)));
        }
      } finally {
        c.close();
      }
      await settled(before);
    });
  }

  it('a client that hangs up mid-file leaves no buffer leased', async () => {
    const before = blockPool.stats().leased;
    const c = await client(false);
    let got = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write: (chunk: Buffer, _e, cb) => {
        got += chunk.length;
        if (got > BLOCK) c.close();
        setTimeout(cb, 1);
      },
    });
    await c.downloadTo(slow, 'a.bin').catch(() => undefined);
    await settled(before);
  });
});
