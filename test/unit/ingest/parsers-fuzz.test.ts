/**
 * Every container parser, fed arbitrary and mutated bytes, either parses or throws
 * ContainerError (the analyser's signal to fall back to generic) — never anything else,
 * never a hang; and the analysers, fed arbitrary files, always return an analysis.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyse } from '../../../src/ingest/analyse.js';
import { ContainerError, type RandomReader } from '../../../src/ingest/analysis.js';
import { findMovieHeader, parseBoxHeader, parseMvhd } from '../../../src/ingest/mp4-boxes.js';
import { walkTopLevel } from '../../../src/ingest/mp4-analyser.js';
import { bitrateFromPcr, packetPcr, scanPackets } from '../../../src/ingest/ts-packets.js';
import { FRAME_BLOCK, FRAME_MANIFEST, frameHeader, heldFrame, keepAliveFrame, readFrames } from '../../../src/ingest/upload-format.js';
import { CanopyError } from '../../../src/core/errors.js';

function only(fn: () => unknown, allowed: (e: unknown) => boolean = (e) => e instanceof ContainerError): void {
  try {
    fn();
  } catch (err) {
    assert.ok(allowed(err), `unexpected ${String(err)}`);
  }
}

export function memoryReader(bytes: Uint8Array): RandomReader {
  return { size: bytes.length, read: async (offset, length) => Buffer.from(bytes.subarray(offset, Math.min(bytes.length, offset + length))) };
}

function box(type: string, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + payload.length);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, payload]);
}

/** A small well-formed MP4 skeleton: ftyp, moov(mvhd), mdat, in either order. */
function mp4(moovFirst: boolean, mdatBytes: Uint8Array): Buffer {
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(1000, 12);
  mvhd.writeUInt32BE(5000, 16);
  const moov = box('moov', box('mvhd', mvhd));
  const ftyp = box('ftyp', Buffer.from('isom\0\0\0\0isom', 'latin1'));
  const mdat = box('mdat', mdatBytes);
  return Buffer.concat(moovFirst ? [ftyp, moov, mdat] : [ftyp, mdat, moov]);
}

const mutate = (base: Buffer) =>
  fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((edits) => {
    const b = Buffer.from(base);
    for (const [i, v] of edits) b[i] = v;
    return b;
  });

describe('parser fuzzing', () => {
  it('parseBoxHeader, parseMvhd and findMovieHeader throw only ContainerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(80), fc.nat(1 << 20), (bytes, at, limit) => {
        only(() => parseBoxHeader(bytes, at, limit));
        only(() => parseMvhd(bytes));
        only(() => findMovieHeader(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('walks mutated MP4 files without throwing anything but ContainerError', async () => {
    const base = mp4(false, Buffer.alloc(300, 7));
    await fc.assert(
      fc.asyncProperty(mutate(base), fc.nat(base.length), async (bytes, cut) => {
        const file = bytes.subarray(0, cut);
        try {
          const boxes = await walkTopLevel(memoryReader(file));
          assert.equal(boxes.reduce((s, b) => s + b.size, 0), file.length);
        } catch (err) {
          assert.ok(err instanceof ContainerError, String(err));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('packetPcr and scanPackets throw only ContainerError; bitrateFromPcr is total', () => {
    const packet = fc.uint8Array({ minLength: 188, maxLength: 188 * 3 }).map((b) => ((b[0] = 0x47), b));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), packet), fc.nat(400), (bytes, at) => {
        only(() => packetPcr(bytes, at));
        only(() => bitrateFromPcr(scanPackets(bytes, 0)));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.array(fc.record({ pos: fc.nat(), pid: fc.nat(8191), pcr: fc.nat() }), { maxLength: 20 }), (samples) => {
        const r = bitrateFromPcr(samples);
        assert.ok(r === undefined || (Number.isFinite(r) && r >= 0));
      }),
    );
  });

  it('analyse always returns an analysis for arbitrary and mutated container bytes', async () => {
    const seeds = [mp4(true, Buffer.alloc(200, 1)), mp4(false, Buffer.alloc(200, 1)), Buffer.concat(Array.from({ length: 6 }, () => Buffer.concat([Buffer.from([0x47, 0x01, 0x00, 0x30, 0x07, 0x10]), Buffer.alloc(182, 0xff)])))];
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)), fc.constantFrom(...seeds).chain(mutate)), fc.nat(2000), async (bytes, cut) => {
        const a = await analyse(memoryReader(bytes.subarray(0, Math.min(cut + 1, bytes.length))));
        assert.ok(['generic', 'mp4', 'mpeg-ts'].includes(a.analyser));
        for (const t of a.plan ?? []) assert.ok(t.length > 0 && t.offset >= 0);
      }),
      { numRuns: 1500 },
    );
  });

  it('recognises both MP4 layouts and orders the header first when moov is at the end', async () => {
    const fast = await analyse(memoryReader(mp4(true, Buffer.alloc(100, 1))));
    assert.equal(fast.analyser, 'mp4');
    assert.equal(fast.plan!.length, 1);
    assert.equal(fast.media!.durationMs, 5000);
    const late = await analyse(memoryReader(mp4(false, Buffer.alloc(100, 1))));
    assert.deepEqual(late.plan!.map((t) => t.kind), ['header', 'header', 'media']);
    const truncated = mp4(false, Buffer.alloc(100, 1)).subarray(0, 150);
    const fallback = await analyse(memoryReader(truncated));
    assert.equal(fallback.analyser, 'generic');
    assert.match(fallback.warnings[0]!, /mp4: box 'moov' at \d+ claims \d+ bytes but only \d+ remain \(truncated\)/);
  });

  it('readFrames throws only ERR_PUBLISH_MISMATCH on arbitrary bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), async (chunks) => {
        try {
          for await (const f of readFrames((async function* () { yield* chunks.map((c) => Buffer.from(c)); })())) assert.ok(f.type === 'held' ? /^[0-9a-f]{64}$/.test(f.hash) : f.data.length >= 0);
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_PUBLISH_MISMATCH', String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('readFrames reads back block, held-block and manifest frames, cut anywhere, keepalives dropped: the same frames or only ERR_PUBLISH_MISMATCH', async () => {
    const frame = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ type: 'block' as const, bytes: Buffer.from(b) })),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({ type: 'held' as const, bytes: Buffer.from(b) })),
      fc.constant({ type: 'keepalive' as const, bytes: Buffer.alloc(0) }),
    );
    const encode = (f: { type: 'block' | 'held' | 'keepalive'; bytes: Buffer }) => (f.type === 'held' ? heldFrame(f.bytes.toString('hex')) : f.type === 'keepalive' ? keepAliveFrame() : Buffer.concat([frameHeader(FRAME_BLOCK, f.bytes.length), f.bytes]));
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { maxLength: 8 }), fc.nat(), fc.nat({ max: 40 }), async (frames, cutAt, chunk) => {
        const body = Buffer.concat([...frames.map(encode), frameHeader(FRAME_MANIFEST, 2), Buffer.from('{}')]);
        const cut = cutAt % (body.length + 1);
        const sent = body.subarray(0, cut);
        const pieces = chunk === 0 ? [sent] : Array.from({ length: Math.ceil(sent.length / chunk) }, (_, i) => sent.subarray(i * chunk, (i + 1) * chunk));
        const got: string[] = [];
        try {
          for await (const f of readFrames((async function* () { yield* pieces; })())) got.push(f.type === 'held' ? `H${f.hash}` : f.type === 'block' ? `B${f.data.toString('hex')}` : 'M');
          assert.equal(cut, body.length, 'only the whole body parses');
          assert.deepEqual(got, [...frames.filter((f) => f.type !== 'keepalive').map((f) => `${f.type === 'held' ? 'H' : 'B'}${f.bytes.toString('hex')}`), 'M']);
        } catch (err) {
          assert.ok(cut < body.length, String(err));
          assert.ok(err instanceof CanopyError && err.code === 'ERR_PUBLISH_MISMATCH', String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
