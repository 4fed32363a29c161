/**
 * Control frames are not queued behind block frames: over a real loopback socket whose
 * reader is slow, a one-way message written after several large frames arrives after at
 * most one of them. Also: a connection shared by many contents keeps one `close` listener
 * per user, not one per content.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { loopbackPair } from '../../helpers/loopback-pair.js';
import { HaveBroadcaster } from '../../../src/swarm/have-broadcaster.js';

const pair = loopbackPair;

const id = (n: number) => n.toString(16).padStart(64, '0');

describe('peer connection write priority', () => {
  it('sends a control frame after at most one queued block frame', async () => {
    const order: string[] = [];
    const p = await pair(async (req) => {
      order.push(req.payload.length > 0 ? 'block' : 'control');
      // A slow reader: the sender's buffers fill up behind it.
      await new Promise((r) => setTimeout(r, 30));
      return undefined;
    });
    const block = Buffer.alloc(4 * 2 ** 20, 7);
    const blocks = Array.from({ length: 6 }, (_, i) => p.client.request('have', { contentId: id(i), index: i }, { payload: block, timeoutMs: 30_000 }).catch(() => undefined));
    // Let the first block frame start going out, then send a control frame.
    await new Promise((r) => setImmediate(r));
    await p.client.notify('cancel', { contentId: id(99), index: 1 });
    const deadline = Date.now() + 20_000;
    while (order.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(order.length, 7, `got ${order.join(',')}`);
    assert.ok(order.indexOf('control') <= 2, `control frame came after ${order.indexOf('control')} block frames: ${order.join(',')}`);
    p.close();
    await Promise.all(blocks);
  });

  it('a connection shared by many contents has one close listener for their subscriptions', async () => {
    const p = await pair(async () => undefined);
    const base = p.client.listenerCount('close');
    const broadcaster = new HaveBroadcaster();
    for (let i = 0; i < 50; i++) broadcaster.subscribe(id(i), p.client);
    assert.equal(p.client.listenerCount('close'), base + 1);
    for (let i = 0; i < 50; i++) broadcaster.forget(id(i));
    p.close();
  });

  it('a signal shared by many requests keeps no listener once they are answered', async () => {
    const p = await pair(async () => ({ body: {} }));
    const shared = new AbortController();
    await Promise.all(Array.from({ length: 50 }, () => p.client.request('ping', {}, { signal: shared.signal })));
    assert.equal(getEventListeners(shared.signal, 'abort').length, 0);
    p.close();
  });
});
