/**
 * What a revoked node hears when it dials: instead of a bare close (which it could only take
 * for a network fault, and retry every 5 s forever), the server reads its first frame (the
 * `hello`, bounded in size and time) and answers it with ERR_NODE_REVOKED, then closes. The
 * node then stops and exits non-zero (src/node/root-link.ts). Only the root answers so, and
 * only a node whose certificate chains to our CA, so it tells nobody else anything; holders
 * close the connection without a word.
 */
import type tls from 'node:tls';
import { CanopyError } from '../core/errors.js';
import { encodeFrame, FrameDecoder } from './frame-codec.js';

const FIRST_FRAME_TIMEOUT_MS = 5_000;
const MAX_FIRST_HEADER = 64 * 1024;

export function answerRevoked(socket: tls.TLSSocket, nodeId: string): void {
  const decoder = new FrameDecoder(MAX_FIRST_HEADER, 0);
  const timer = setTimeout(() => socket.destroy(), FIRST_FRAME_TIMEOUT_MS);
  timer.unref();
  const finish = () => {
    clearTimeout(timer);
    socket.off('data', onData);
  };
  const onData = (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      finish();
      socket.destroy();
      return;
    }
    const first = frames[0];
    if (!first) return;
    finish();
    const err = new CanopyError('ERR_NODE_REVOKED', `node ${nodeId} has been revoked by the root; it may not rejoin with this certificate`);
    const re = typeof first.header.id === 'number' ? first.header.id : 0;
    socket.end(Buffer.concat(encodeFrame({ t: 'err', re, code: err.code, message: err.message })));
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
}
