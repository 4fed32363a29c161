/**
 * Replies in `part` frames (cut-through relay, docs/PROTOCOL.md): the requester sees each
 * piece as it arrives and gets them all in the reply; an error part-way rejects the request
 * and keeps nothing; a control message goes out between two pieces of a slow reply.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CanopyError } from '../../../src/core/errors.js';
import { joined } from '../../../src/core/block-bytes.js';
import { loopbackPair } from '../../helpers/loopback-pair.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const piece = (n: number) => Buffer.alloc(100 * 1024, n);

describe('replies in pieces', () => {
  it('hands each piece on as it comes and the whole payload at the end', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = await loopbackPair(async () => ({
      pieces: (async function* () {
        yield piece(1);
        yield [piece(2), piece(3)];
        await gate;
        yield piece(4);
      })(),
    }));
    const seen: number[] = [];
    let firstTwo!: () => void;
    const gotTwo = new Promise<void>((r) => (firstTwo = r));
    const reply = p.client.request('get-block', { contentId: id(1), index: 0, pieces: true }, {
      onPart: (parts) => {
        seen.push(joined(parts).length);
        if (seen.length === 2) firstTwo();
      },
    });
    // The first two pieces arrive while the third is not yet produced.
    await gotTwo;
    assert.deepEqual(seen, [100 * 1024, 200 * 1024]);
    release();
    const r = await reply;
    assert.deepEqual(r.payload, Buffer.concat([piece(1), piece(2), piece(3), piece(4)]));
    p.close();
  });

  it('an error part-way rejects the request with its code', async () => {
    const p = await loopbackPair(async () => ({
      pieces: (async function* () {
        yield piece(1);
        throw new CanopyError('ERR_RELAY_ABORTED', 'source went away');
      })(),
    }));
    await assert.rejects(p.client.request('get-block', { contentId: id(1), index: 0, pieces: true }), (e: Error) => (e as CanopyError).code === 'ERR_RELAY_ABORTED');
    p.close();
  });

  it('a control message is not held behind a reply still arriving', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const notes: string[] = [];
    const p = await loopbackPair(async (req) => {
      if (req.type === 'ping') return { body: {} };
      return {
        pieces: (async function* () {
          yield piece(1);
          await gate;
          yield piece(2);
        })(),
      };
    });
    const slow = p.client.request('get-block', { contentId: id(1), index: 0, pieces: true }).then(() => notes.push('block'));
    await p.client.request('ping', {});
    notes.push('ping');
    release();
    await slow;
    assert.deepEqual(notes, ['ping', 'block']);
    p.close();
  });

  it('a piece with bytes of its own is given back once its frame is written, before the next is made, and on a closed connection', async () => {
    const PIECES = 40;
    let made = 0;
    let flushed = 0;
    let mostHeld = 0;
    const owned = (n: number) => {
      made++;
      mostHeld = Math.max(mostHeld, made - flushed);
      return { bytes: Buffer.alloc(256 * 1024, n), flushed: () => flushed++ };
    };
    const p = await loopbackPair(async () => ({
      pieces: (async function* () {
        for (let i = 0; i < PIECES; i++) {
          // Each piece is made after a turn of the event loop, as a read from disk is.
          await new Promise((r) => setImmediate(r));
          yield owned(i);
        }
      })(),
    }));
    const r = await p.client.request('get-block', { contentId: id(1), index: 0, pieces: true });
    assert.equal(r.payload.length, PIECES * 256 * 1024);
    assert.equal(r.payload[256 * 1024 * 7], 7);
    assert.equal(flushed, PIECES, 'each piece given back once');
    assert.ok(mostHeld <= 2, `at most two pieces held at once (${mostHeld})`);
    // The connection goes while pieces are still being made: the one handed on is given back too.
    let gate!: () => void;
    const opened = new Promise<void>((r) => (gate = r));
    made = flushed = 0;
    const q = await loopbackPair(async () => ({
      pieces: (async function* () {
        yield owned(1);
        await opened;
        yield owned(2);
      })(),
    }));
    const lost = q.client.request('get-block', { contentId: id(1), index: 0, pieces: true }, { onPart: () => q.client.destroy() });
    await assert.rejects(lost);
    q.server.destroy();
    gate();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(flushed, made, 'nothing handed on is left held');
    p.close();
    q.close();
  });
});
