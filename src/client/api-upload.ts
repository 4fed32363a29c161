/**
 * A POST whose body streams from the caller's own buffers: the one request that carries a
 * content's bytes (a publish). It goes over node:http(s), not undici, because node:http
 * calls a write's callback once the socket has taken the chunk (written to the kernel, or
 * encrypted by TLS), and undici gives no such signal: with it, the publisher had to copy
 * every block (`Buffer.concat` of frame header and block: 37-45 % of the publishing
 * client's CPU, notes/issue-15.md Session 6) before handing its buffer back to the ingest
 * pipeline. Here the pipeline's buffer itself is written and reused when the callback fires.
 */
import type http from 'node:http';
import { nodeHttp } from '../http/node-http.js';
import https from 'node:https';

/** Where the request goes: an API origin (http(s)://host:port), the CA to trust for https, and headers. */
export interface UploadTarget {
  base: string;
  /** The CAs an https:// target must chain to (api-tls.ts); the system's when undefined. */
  ca?: string | string[];
}

/** The node's answer: its status and body text (the caller parses it as the API's JSON). */
export interface UploadAnswer {
  statusCode: number;
  text: string;
}

/** The open request (write frames to it: a write's callback fires when its chunk was sent) and its answer. */
export interface OpenUpload {
  body: http.ClientRequest;
  answer: Promise<UploadAnswer>;
}

/** Nothing answers in this long (ms): the same bound the API client sets for every request. */
const IDLE_TIMEOUT_MS = 600_000;

/**
 * Opens `POST path` on `target` with a chunked body. `answer` settles with the node's reply
 * (also an early one: a refusal sent before the body ended), or rejects with the transport
 * error (connection refused, certificate, reset before any answer).
 */
export function openUpload(target: UploadTarget, path: string, headers: Record<string, string>): OpenUpload {
  const url = new URL(path, target.base);
  const options: https.RequestOptions = { method: 'POST', headers, agent: false, ...(target.ca ? { ca: target.ca } : {}) };
  const body = url.protocol === 'https:' ? https.request(url, options) : nodeHttp.request(url, options);
  const answer = new Promise<UploadAnswer>((resolve, reject) => {
    let answered = false;
    body.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    // After an answer has begun, a reset of the rest of the body (the node refused early and closed) is not the error to show.
    body.on('error', (err) => {
      if (!answered) reject(err);
    });
  });
  // The headers go now, not with the first block: the node can refuse (an unauthorised publisher key) before any block is read.
  body.flushHeaders();
  body.setTimeout(IDLE_TIMEOUT_MS, () => body.destroy(Object.assign(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
  return { body, answer };
}
