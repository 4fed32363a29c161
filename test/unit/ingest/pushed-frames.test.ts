/**
 * Frames of a publish body pushed from a reused buffer (src/ingest/pushed-frames.ts, the
 * root's API reads uploads so): the same frames and errors as readFrames over chunks, though
 * each piece is overwritten right after it is pushed; the source is paused while frames wait;
 * no block buffer is left leased, whether the body is whole, cut or malformed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { framesFrom, type ByteSource } from '../../../src/ingest/pushed-frames.js';
import { FRAME_BLOCK, FRAME_MANIFEST, frameHeader, heldFrame, keepAliveFrame, readFrames, type Frame } from '../../../src/ingest/upload-format.js';
import { blockPool } from '../../../src/core/block-pool.js';

/** A source pushing `pieces` one per macrotask through one scratch buffer, skipping turns while paused; it records the most frames ever waiting. */
class ScratchSource implements ByteSource {
  paused = false;
  stopped = false;
  pausedTimes = 0;

  constructor(
    private readonly pieces: Buffer[],
    private readonly failWith?: Error,
  ) {}

  start(onBytes: (bytes: Buffer) => void, onEnd: (err?: Error) => void): void {
    const scratch = Buffer.alloc(Math.max(1, ...this.pieces.map((p) => p.length)));
    let i = 0;
    const tick = () => {
      if (this.stopped) return;
      if (this.paused) return void setTimeout(tick, 1);
      if (i === this.pieces.length) return onEnd(this.failWith);
      const p = this.pieces[i++]!;
      p.copy(scratch);
      onBytes(scratch.subarray(0, p.length));
      scratch.fill(0xee);
      setImmediate(tick);
    };
    setImmediate(tick);
  }

  pause(): void {
    this.paused = true;
    this.pausedTimes++;
  }

  resume(): void {
    this.paused = false;
  }

  stop(): void {
    this.stopped = true;
  }
}

const show = (f: Frame) => (f.type === 'held' ? `H${f.hash}` : f.type === 'block' ? `B${f.data.toString('hex')}` : `M${f.data.toString()}`);

async function outcome(frames: AsyncIterable<Frame>, slow = false): Promise<{ got: string[]; error?: string }> {
  const got: string[] = [];
  try {
    for await (const f of frames) {
      got.push(show(f));
      if (f.type === 'block') f.lease.release();
      if (slow) await new Promise((r) => setTimeout(r, 1));
    }
    return { got };
  } catch (err) {
    return { got, error: `${(err as { code?: string }).code}: ${(err as Error).message}` };
  }
}

const frameArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.concat([frameHeader(FRAME_BLOCK, b.length), Buffer.from(b)])),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => heldFrame(Buffer.from(b).toString('hex'))),
  fc.constant(keepAliveFrame()),
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
);

function cut(body: Buffer, size: number): Buffer[] {
  return size === 0 ? [body] : Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size));
}

describe('framesFrom (a publish body pushed from a reused buffer)', () => {
  it('gives the frames and errors readFrames gives for the same bytes, cut anywhere, and leaves no block buffer leased', async () => {
    const leased = blockPool.stats().leased;
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { maxLength: 6 }), fc.boolean(), fc.nat(), fc.nat({ max: 40 }), async (frames, withManifest, cutAt, size) => {
        const whole = Buffer.concat([...frames, ...(withManifest ? [frameHeader(FRAME_MANIFEST, 2), Buffer.from('{}')] : [])]);
        const body = whole.subarray(0, cutAt % (whole.length + 1));
        const pieces = cut(body, size);
        const want = await outcome(readFrames((async function* () { yield* pieces.map((p) => Buffer.from(p)); })()));
        const got = await outcome(framesFrom(new ScratchSource(pieces)));
        assert.deepEqual(got, want);
      }),
      { numRuns: 800 },
    );
    assert.equal(blockPool.stats().leased, leased);
  });

  it('pauses the source while frames wait for a slow reader, and stops it on a source error', async () => {
    const blocks = Array.from({ length: 40 }, (_, i) => Buffer.concat([frameHeader(FRAME_BLOCK, 8), Buffer.alloc(8, i)]));
    const body = Buffer.concat([...blocks, frameHeader(FRAME_MANIFEST, 2), Buffer.from('{}')]);
    const source = new ScratchSource(cut(body, 200));
    const { got, error } = await outcome(framesFrom(source), true);
    assert.equal(error, undefined);
    assert.equal(got.length, 41);
    assert.ok(source.pausedTimes > 0, 'paused while frames waited');
    const failing = new ScratchSource(cut(body.subarray(0, 60), 7), Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const cutShort = await outcome(framesFrom(failing));
    assert.equal(cutShort.error, 'ECONNRESET: aborted');
    assert.equal(cutShort.got.length, 4, 'the whole frames before the cut come first');
  });
});
