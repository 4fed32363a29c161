import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findBox, fragmentDecodeTime, mediaTimescale, readBoxHeader } from '../../../../src/edge/hls/mp4-boxes.js';
import { isTransportStream, ptsValues, TS_PACKET } from '../../../../src/edge/hls/mpegts.js';
import { proportionalSegments, renderPlaylist } from '../../../../src/edge/hls/playlist.js';

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** One TS packet starting a PES with the given PTS (90 kHz units). */
function pesPacket(pts: number): Buffer {
  const p = Buffer.alloc(TS_PACKET, 0xff);
  p.set([0x47, 0x41, 0x00, 0x10, 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5]);
  p[13] = 0x21 | ((Math.floor(pts / 2 ** 30) & 7) << 1);
  p[14] = (pts >> 22) & 0xff;
  p[15] = (((pts >> 15) & 0x7f) << 1) | 1;
  p[16] = (pts >> 7) & 0xff;
  p[17] = ((pts & 0x7f) << 1) | 1;
  return p;
}

describe('HLS helpers', () => {
  it('reads PES time stamps from transport stream packets', () => {
    const buf = Buffer.concat([pesPacket(90_000), Buffer.alloc(TS_PACKET, 0x47), pesPacket(90_000 * 21)]);
    assert.ok(isTransportStream(buf));
    assert.deepEqual(ptsValues(buf), [1, 21]);
    assert.equal(isTransportStream(Buffer.from('ftypisom'.repeat(100))), false);
  });

  it('walks MP4 boxes to the timescale and fragment decode time', () => {
    const mdhd = Buffer.alloc(24);
    mdhd.writeUInt32BE(12800, 12);
    const moov = box('moov', box('mvhd', Buffer.alloc(100)), box('trak', box('tkhd', Buffer.alloc(80)), box('mdia', box('mdhd', mdhd))));
    assert.equal(mediaTimescale(moov), 12800);
    const tfdt = Buffer.alloc(8);
    tfdt.writeUInt32BE(25600, 4);
    const moof = box('moof', box('mfhd', Buffer.alloc(8)), box('traf', box('tfhd', Buffer.alloc(8)), box('tfdt', tfdt)));
    assert.equal(fragmentDecodeTime(moof), 25600);
    assert.equal(readBoxHeader(moof, 0, moof.length)?.type, 'moof');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const b = Buffer.from(bytes);
        ptsValues(b);
        isTransportStream(b);
        readBoxHeader(b, 0, b.length);
        findBox(b, ['moov', 'trak', 'mdia', 'mdhd']);
        mediaTimescale(b);
        fragmentDecodeTime(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('cuts segments that tile the range at packet boundaries and sum to the duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50_000 }), fc.double({ min: 0.5, max: 3600, noNaN: true }), (packets, seconds) => {
        const end = packets * TS_PACKET;
        const segs = proportionalSegments(0, end, seconds, 6, TS_PACKET);
        let at = 0;
        for (const s of segs) {
          assert.equal(s.offset, at);
          assert.equal(s.offset % TS_PACKET, 0);
          at += s.length;
        }
        assert.equal(at, end);
        assert.ok(Math.abs(segs.reduce((t, s) => t + s.duration, 0) - seconds) < 1e-6 * seconds + 1e-9);
      }),
    );
    const text = renderPlaylist({ uri: '/content/x', init: { offset: 0, length: 100 }, segments: [{ offset: 100, length: 50, duration: 2.5 }] });
    assert.equal(text, '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="/content/x",BYTERANGE="100@0"\n#EXTINF:2.500,\n#EXT-X-BYTERANGE:50@100\n/content/x\n#EXT-X-ENDLIST\n');
  });
});
