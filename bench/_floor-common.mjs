/**
 * What the floors' processes share (the swarm's: bench/_floor.ts; distribute's:
 * bench/_distribute-floor.ts): the TLS settings, the stage size, the hello a member sends its
 * source, and the file writer with its backlog and optional periodic fdatasync.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';

export const TLS_OPTS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' };
// Canopy's member hashes, writes and relays in stages of this size.
export const STAGE = 256 * 1024;
// Reads pause while this much is queued for the file, as a member's must when the disk lags.
export const FILE_HIGH = 64 * 2 ** 20;

/** Reads a member's hello ([u32 index]) from `sock`, then hands the index over and stops listening. */
export function takeHello(sock, onIndex) {
  let got = Buffer.alloc(0);
  const onData = (d) => {
    got = Buffer.concat([got, d]);
    if (got.length < 4) return;
    sock.off('data', onData);
    onIndex(got.readUInt32BE(0));
  };
  sock.on('data', onData);
}

/**
 * Positional writes into `fd`, counted while in flight (`pending()`). With `syncEvery` (bytes),
 * an fdatasync also starts each time that much more has been written: the distribute floor's
 * disk is its bound, and a store that syncs as it goes, as Canopy's group commit does, leaves
 * less to sync at the end. `written` runs after each write.
 */
export function fileWriter(fd, { syncEvery, fail, written }) {
  let pending = 0;
  let unsynced = 0;
  return {
    pending: () => pending,
    write(buf, pos) {
      pending += buf.length;
      fs.write(fd, buf, 0, buf.length, pos, (err, n) => {
        if (err) fail(`write: ${err.message}`);
        if (n !== buf.length) fail(`short write ${n}/${buf.length}`);
        pending -= buf.length;
        unsynced += n;
        if (syncEvery && unsynced >= syncEvery) {
          unsynced = 0;
          fs.fdatasync(fd, (e) => e && fail(`fdatasync: ${e.message}`));
        }
        written();
      });
    },
  };
}
