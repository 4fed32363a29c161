/**
 * Which blocks a publish need not send: the root is asked (`GET /api/blocks/:hash`) whether
 * it holds each, and a held one goes as an `H` frame (ingest/upload-format.ts). A retried
 * publish (the first was cut by a failover, a dropped connection, a closed laptop) thus
 * sends only what is missing. A fresh publish costs one question: when the root does not
 * hold its first block, nothing more is asked; otherwise the asking stops after
 * `MISSES_TO_STOP` missing blocks in a row (past the part a cut upload left, every block is
 * missing). A root that cannot answer (an older one) is sent every block.
 */
export const MISSES_TO_STOP = 8;

export type HeldProbe = (hash: string) => Promise<boolean>;

export function heldProbe(ask: (hash: string) => Promise<boolean>): HeldProbe {
  let asked = 0;
  let missesInRow = 0;
  let done = false;
  return async (hash) => {
    if (done) return false;
    const held = await ask(hash).catch(() => false);
    asked++;
    missesInRow = held ? 0 : missesInRow + 1;
    if ((asked === 1 && !held) || missesInRow >= MISSES_TO_STOP) done = true;
    return held;
  };
}
