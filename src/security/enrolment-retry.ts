/**
 * Enrolment that survives a bad network: a node's first start tries every root address in
 * turn, and keeps trying for a while when none answers in time. A lost SYN or TLS record on a
 * lossy link costs TCP seconds of back-off (1, 2, 4 s...), and one such attempt must not end
 * the node's start: CI saw a node on a 5 %-loss link give up after one 10 s attempt. The key
 * pair is made once, so a retry after an answer was lost is recognised by the root as the same
 * node (see Authority.enrol) and not refused as a reused token.
 */
import { CanopyError } from '../core/errors.js';
import type { PeerAddress } from '../wire/transport.js';
import { enrol, type EnrolledCredentials } from './enrolment.js';
import { generateKeyPair } from './x509.js';

/** How long a node keeps trying to enrol before its start fails: long enough for a root that is restarting. */
export const ENROL_PATIENCE_MS = 60_000;
const FIRST_PAUSE_MS = 500;
const MAX_PAUSE_MS = 5_000;

/** Failures worth another attempt: the root may answer later. A refusal (bad or used token) is final. */
const TRANSIENT = new Set(['ERR_UNREACHABLE', 'ERR_TIMEOUT', 'ERR_CONNECTION_CLOSED']);

export interface EnrolRetryOptions {
  patienceMs?: number;
  onRetry?: (err: CanopyError, pauseMs: number) => void;
}

/**
 * Enrols through the first root that answers: an unreachable address (a standby keeps its peer
 * port closed, a dead root) moves on to the next; after a round with no answer it pauses (doubling
 * up to 5 s) and goes round again until `patienceMs` has passed. A refusal is thrown at once.
 */
export async function enrolWithAny(roots: readonly PeerAddress[], token: string, options: EnrolRetryOptions = {}): Promise<EnrolledCredentials> {
  const keys = generateKeyPair();
  const deadline = Date.now() + (options.patienceMs ?? ENROL_PATIENCE_MS);
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    let last: CanopyError | undefined;
    for (const root of roots) {
      try {
        return await enrol(root, token, keys);
      } catch (err) {
        if (!(err instanceof CanopyError) || !TRANSIENT.has(err.code)) throw err;
        last = err;
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) throw last!;
    const wait = Math.min(pause, left);
    options.onRetry?.(last!, wait);
    await new Promise((r) => setTimeout(r, wait));
    pause = Math.min(pause * 2, MAX_PAUSE_MS);
  }
}
