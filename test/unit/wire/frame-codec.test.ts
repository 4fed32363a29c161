import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { encodeFrame, FrameDecoder } from '../../../src/wire/frame-codec.js';

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  parts.push(bytes.subarray(last));
  return parts;
}

describe('frame codec', () => {
  it('decodes any chunking of any sequence of frames', () => {
    const frame = fc.record({ header: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), payload: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const bytes = Buffer.concat(frames.flatMap((f) => encodeFrame(f.header, f.payload)));
        const decoder = new FrameDecoder();
        const out = split(bytes, cuts).flatMap((part) => decoder.push(part));
        assert.equal(out.length, frames.length);
        out.forEach((f, i) => {
          assert.deepEqual(f.header, JSON.parse(JSON.stringify(frames[i]!.header)));
          assert.deepEqual(new Uint8Array(f.payload), frames[i]!.payload);
          assert.deepEqual(new Uint8Array(Buffer.concat(f.parts as Buffer[])), frames[i]!.payload);
        });
        assert.equal(decoder.pending, 0);
      }),
    );
  });

  it('hands a payload on as views of the chunks it arrived in, joined only when asked', () => {
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const bytes = Buffer.concat(encodeFrame({ t: 'ok', re: 1 }, payload));
    const chunks = split(Buffer.from(bytes), [5, 9, 16_384, 50_000, 70_001]).map((c) => Buffer.from(c));
    const decoder = new FrameDecoder();
    const [frame, ...rest] = chunks.flatMap((c) => decoder.push(c));
    assert.equal(rest.length, 0);
    // Each piece lies in one received chunk's memory: nothing was copied.
    assert.ok(frame!.parts.length >= 4);
    assert.ok(frame!.parts.every((p) => chunks.some((c) => c.buffer === p.buffer)));
    assert.deepEqual(frame!.payload, payload);
    assert.equal(frame!.payload, frame!.payload, 'joined once');
  });

  it('rejects garbage with a coded error, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 200 }), (bytes) => {
        const decoder = new FrameDecoder(1024, 1024);
        try {
          decoder.push(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof CanopyError && ['ERR_WIRE_PROTOCOL', 'ERR_WIRE_TOO_LARGE'].includes(err.code), String(err));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses an oversized frame from its prefix, before buffering it', () => {
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(10, 0);
    prefix.writeUInt32BE(2 ** 31, 4);
    assert.throws(() => new FrameDecoder().push(prefix), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_WIRE_TOO_LARGE');
  });
});
