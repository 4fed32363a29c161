/**
 * Just enough BitTorrent metainfo to run the BitTorrent baseline: a bencoder and a
 * single-file .torrent maker (SHA-1 piece hashes, read in a stream so memory stays flat).
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';

type BValue = number | string | Buffer | BValue[] | { [key: string]: BValue };

export function bencode(v: BValue): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${Math.trunc(v)}e`);
  if (typeof v === 'string') return bencode(Buffer.from(v, 'utf8'));
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(v).sort();
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [bencode(k), bencode(v[k]!)]), Buffer.from('e')]);
}

/** Returns the .torrent bytes and the info-hash (hex) for one file. */
export async function makeTorrent(file: string, announce: string, pieceLength: number): Promise<{ torrent: Buffer; infoHash: string }> {
  const pieces: Buffer[] = [];
  let hash = createHash('sha1');
  let filled = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(pieceLength - filled, chunk.length - off);
      hash.update(chunk.subarray(off, off + take));
      filled += take;
      off += take;
      if (filled === pieceLength) {
        pieces.push(hash.digest());
        hash = createHash('sha1');
        filled = 0;
      }
    }
  }
  if (filled > 0) pieces.push(hash.digest());
  const info = { length: statSync(file).size, name: path.basename(file), 'piece length': pieceLength, pieces: Buffer.concat(pieces) };
  const infoHash = createHash('sha1').update(bencode(info)).digest('hex');
  return { torrent: bencode({ announce, info }), infoHash };
}
