import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chooseBlockSize } from '../../../src/ingest/block-size.js';
import { formatDuration, RateMeter } from '../../../src/client/rate-meter.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('block size', () => {
  it('media: about N seconds of playback, nearest power of two in [256 KiB, 16 MiB]', () => {
    assert.equal(chooseBlockSize({ size: 1e9, bitrate: 4_000_000 }).blockSize, MiB); // 1 MB → 1 MiB
    assert.equal(chooseBlockSize({ size: 1e9, bitrate: 4_000_000, blockSeconds: 8 }).blockSize, 4 * MiB);
    assert.equal(chooseBlockSize({ size: 1e9, bitrate: 100_000 }).blockSize, 256 * KiB);
    assert.equal(chooseBlockSize({ size: 1e9, bitrate: 1e9 }).blockSize, 16 * MiB);
    assert.match(chooseBlockSize({ size: 1e9, bitrate: 4_000_000 }).reason, /^media: 2 s at 4\.00 Mbit\/s/);
  });

  it('other content: about 1,000 to 65,536 blocks in [1 MiB, 64 MiB], and at least 4 MiB once 64 of them fit', () => {
    assert.equal(chooseBlockSize({ size: 256 * MiB - 1 }).blockSize, MiB);
    assert.equal(chooseBlockSize({ size: 256 * MiB }).blockSize, 4 * MiB);
    assert.match(chooseBlockSize({ size: 256 * MiB }).reason, /in 64 blocks of 4\.0 MiB, 4 MiB blocks .* at least 64 of them/);
    assert.equal(chooseBlockSize({ size: 1000 * MiB }).blockSize, 4 * MiB);
    assert.equal(chooseBlockSize({ size: 2 ** 30 }).blockSize, 4 * MiB);
    assert.match(chooseBlockSize({ size: 2 ** 30 }).reason, /in 256 blocks of 4\.0 MiB, 4 MiB blocks/);
    assert.equal(chooseBlockSize({ size: 4 * 2 ** 30 }).blockSize, 4 * MiB);
    assert.equal(chooseBlockSize({ size: 8 * 2 ** 30 }).blockSize, 8 * MiB);
    assert.equal(chooseBlockSize({ size: 10 }).blockSize, MiB);
    fc.assert(
      fc.property(fc.integer({ min: 256 * MiB, max: 64 * MiB * 65536 }), (size) => {
        const { blockSize } = chooseBlockSize({ size });
        const count = Math.ceil(size / blockSize);
        assert.ok(blockSize >= MiB && blockSize <= 64 * MiB && Number.isInteger(Math.log2(blockSize)));
        assert.ok(count >= 64 && count <= 65536, `${size} → ${blockSize} (${count} blocks)`);
        // Bigger than the 1,000-block rule only up to 4 MiB, and only with room for 64 such blocks.
        if (count < 1000) assert.ok(blockSize === 4 * MiB && size >= 64 * 4 * MiB, `${size} → ${blockSize} (${count} blocks)`);
      }),
    );
  });

  it('MPEG-TS sizes are whole packets; overrides are honoured and recorded', () => {
    const ts = chooseBlockSize({ size: 1e9, bitrate: 4_000_000, packet: 188 });
    assert.equal(ts.blockSize % 188, 0);
    assert.ok(ts.blockSize <= MiB && ts.blockSize > MiB - 188);
    const o = chooseBlockSize({ size: 1e9, bitrate: 4_000_000, override: 3 * MiB });
    assert.deepEqual(o, { blockSize: 3 * MiB, reason: '--block-size 3.0 MiB' });
  });

  it('formats throughput and ETAs for the progress bar', async () => {
    assert.equal(formatDuration(7), '0:07');
    assert.equal(formatDuration(3725), '1:02:05');
    const meter = new RateMeter();
    await new Promise((r) => setTimeout(r, 20));
    assert.match(meter.note(MiB, 10 * MiB), /^\d+\.\d MiB\/s, ETA \d+:\d\d$/);
    assert.equal(meter.note(0, 10), '');
    assert.equal(meter.due(10, 10), true);
  });
});
