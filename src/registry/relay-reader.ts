/**
 * A blob still arriving, read by position as the ingest pipeline reads a file: the blob's
 * bytes come from its relay (waiting for those not yet fetched), and after them a trailer
 * held in memory (the image index the content carries as its header track). So the root
 * cuts, hashes and stores a pulled-through blob while the registry sends it, and its
 * content is signed the moment the last byte is checked, rather than after a second pass
 * over the spool. The relay holds back the blob's last byte until its digest matched, so an
 * ingest over a wrong blob can never finish: its last read throws the relay's error.
 */
import type { PositionalReader } from '../ingest/cut-block.js';
import type { BlobRelay } from './blob-relay.js';

export function relayReader(relay: Pick<BlobRelay, 'read'>, blobSize: number, trailer: Buffer): PositionalReader {
  return {
    async read(buffer, offset, length, position) {
      let got = 0;
      // The blob's part of the range, as the relay has it (each read waits until some bytes are there).
      while (got < length && position + got < blobSize) {
        const r = await relay.read(position + got, Math.min(length - got, blobSize - position - got));
        if (r.bytes.length === 0) break;
        r.bytes.copy(buffer, offset + got);
        got += r.bytes.length;
      }
      // Then the trailer's part, past the blob's end.
      const from = Math.max(0, position + got - blobSize);
      if (got < length && position + got >= blobSize && from < trailer.length) got += trailer.copy(buffer, offset + got, from, Math.min(trailer.length, from + length - got));
      return { bytesRead: got };
    },
  };
}
