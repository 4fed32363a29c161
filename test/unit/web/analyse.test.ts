import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyse, mp4Boxes } from '../../../web/src/publish/analyse.js';

function box(type: string, body: number): Buffer {
  const b = Buffer.alloc(8 + body, 0x11);
  b.writeUInt32BE(8 + body, 0);
  b.write(type, 4, 'latin1');
  return b;
}

const reader = (buf: Buffer) => async (offset: number, length: number) => new Uint8Array(buf.subarray(offset, offset + length));

describe('browser-side analysis', () => {
  it('tells a linear MP4 from one whose index is at the end', async () => {
    const fast = Buffer.concat([box('ftyp', 16), box('moov', 100), box('mdat', 1000)]);
    const slow = Buffer.concat([box('ftyp', 16), box('mdat', 1000), box('moov', 100)]);
    const a = await analyse(reader(fast), fast.length, '');
    assert.deepEqual([a.kind, a.mediaType, a.linear], ['mp4', 'video/mp4', true]);
    assert.deepEqual(a.boxes.map((b) => b.type), ['ftyp', 'moov', 'mdat']);
    const b = await analyse(reader(slow), slow.length, '');
    assert.equal(b.linear, false);
    assert.match(b.notes.join(' '), /moov at 1032, mdat at 24/);
  });

  it('reads 64-bit box sizes and a last box that runs to the end', async () => {
    const big = Buffer.alloc(16 + 40, 0);
    big.writeUInt32BE(1, 0);
    big.write('mdat', 4, 'latin1');
    big.writeBigUInt64BE(56n, 8);
    const tail = Buffer.alloc(20, 0);
    tail.write('free', 4, 'latin1');
    const file = Buffer.concat([box('ftyp', 8), big, tail]);
    assert.deepEqual((await mp4Boxes(reader(file), file.length)).map((b) => [b.type, b.size]), [['ftyp', 16], ['mdat', 56], ['free', 20]]);
  });

  it('sees MPEG-TS packets and leading padding', async () => {
    const ts = Buffer.alloc(188 * 4, 0xff);
    for (let i = 0; i < 4; i++) ts[i * 188] = 0x47;
    assert.equal((await analyse(reader(ts), ts.length, '')).mediaType, 'video/mp2t');
    const padded = Buffer.concat([Buffer.alloc(8192), Buffer.from('data')]);
    const p = await analyse(reader(padded), padded.length, 'application/x-raw-disk-image');
    assert.deepEqual([p.kind, p.linear, p.mediaType], ['generic', false, 'application/x-raw-disk-image']);
  });

  it('never throws and never reads past the end, on any bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.boolean(), async (bytes, asMp4) => {
        const buf = Buffer.from(bytes);
        if (asMp4 && buf.length >= 8) buf.write('ftyp', 4, 'latin1');
        const read = async (offset: number, length: number) => {
          assert.ok(offset >= 0 && offset <= buf.length, `read at ${offset} of ${buf.length}`);
          return new Uint8Array(buf.subarray(offset, offset + length));
        };
        const a = await analyse(read, buf.length, 'x');
        for (const b of a.boxes) assert.ok(b.offset + b.size <= buf.length);
      }),
      { numRuns: 500 },
    );
  });
});
