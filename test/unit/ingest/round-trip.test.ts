/**
 * Round trip through the real pipeline and a real store on disk: whatever the analyser,
 * reading the content back through the virtual file gives the original bytes, holes as
 * zeros; the manifest passes the strict parser; holes are not stored.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseManifest, storedBytes } from '../../../src/core/manifest.js';
import { ingestFile, type IngestResult } from '../../../src/ingest/ingest-file.js';
import { storeSink } from '../../../src/ingest/sinks.js';
import { BlockStore } from '../../../src/store/block-store.js';
import { VirtualFile } from '../../../src/vfile/virtual-file.js';
import { runCommand, tempDir } from '../../helpers/cli.js';
import { testKey } from '../../helpers/manifests.js';

const dir = tempDir('canopy-i10-rt-');
let store: BlockStore;

before(() => {
  store = new BlockStore(`${dir.path}/data`, [{ path: `${dir.path}/v1` }, { path: `${dir.path}/v2` }]);
});
after(() => {
  store.close();
  dir.remove();
});

async function readBack(r: IngestResult, start = 0, end = r.manifest.size - 1): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of new VirtualFile(r.manifest, store).read(start, end)) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

async function ingest(file: string, blockSize?: number, name = 'f.bin'): Promise<IngestResult> {
  const r = await ingestFile(file, storeSink(store), { name, criteria: '*', origin: 'n1', key: testKey, blockSize });
  parseManifest(JSON.parse(JSON.stringify(r.manifest)), r.contentId);
  return r;
}

type Segment = { zeros: boolean; length: number };

describe('ingest round trip', () => {
  it('generic: random sizes and hole patterns come back exactly; holes are not stored', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ zeros: fc.boolean(), length: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 4096, max: 80_000 }), fc.constantFrom(4096, 8192, 65536)) }), { maxLength: 12 }),
        fc.constantFrom(4096, 8192, 5000, 65536),
        async (segments: Segment[], blockSize) => {
          const bytes = Buffer.concat(segments.map((s) => (s.zeros ? Buffer.alloc(s.length) : randomBytes(s.length))));
          const file = `${dir.path}/gen-${n++}.bin`;
          writeFileSync(file, bytes);
          const r = await ingest(file, blockSize);
          assert.equal(r.manifest.analyser, 'generic');
          assert.deepEqual(await readBack(r), bytes);
          // Every hole is zeros, at least one block long unless it is leading padding.
          for (const h of r.manifest.holes) {
            assert.ok(bytes.subarray(h.offset, h.offset + h.length).every((x) => x === 0));
            assert.ok(h.offset === 0 || h.length >= blockSize || h.offset + h.length === bytes.length, `hole ${JSON.stringify(h)}`);
          }
          assert.equal(storedBytes(r.manifest) + r.manifest.holes.reduce((s, h) => s + h.length, 0), bytes.length);
          assert.equal(r.manifest.linear, r.manifest.holes.length === 0 && r.manifest.tracks.length <= 1);
          if (bytes.length > 0) {
            const a = Math.floor(Math.random() * bytes.length);
            const b = a + Math.floor(Math.random() * (bytes.length - a));
            assert.deepEqual(await readBack(r, a, b), bytes.subarray(a, b + 1));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('generic: a sparse-image-like file stores only its substantive extents', async () => {
    const data = [randomBytes(3 << 20), randomBytes(1 << 20)];
    const bytes = Buffer.concat([Buffer.alloc(64 << 10), data[0]!, Buffer.alloc(5 << 20), data[1]!, Buffer.alloc(2 << 20)]);
    const file = `${dir.path}/sparse.img`;
    writeFileSync(file, bytes);
    const r = await ingest(file);
    assert.equal(r.manifest.tracks.length, 2);
    assert.deepEqual(r.manifest.holes.map((h) => h.length), [64 << 10, 5 << 20, 2 << 20]);
    assert.equal(r.manifest.linear, false);
    assert.deepEqual(await readBack(r), bytes);
  });

  describe('media made with ffmpeg', () => {
    const media = (name: string) => `${dir.path}/${name}`;
    before(async () => {
      const src = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=5:size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=duration=5', '-c:v', 'mpeg4', '-c:a', 'aac'];
      for (const [out, extra] of [['late.mp4', []], ['fast.mp4', ['-movflags', '+faststart']], ['clip.ts', ['-f', 'mpegts']]] as const) {
        const r = await runCommand('ffmpeg', [...src, ...extra, media(out)]);
        assert.equal(r.code, 0, r.stderr);
      }
    });

    it('MP4 with moov at the end: header tracks first, exact round trip', async () => {
      const bytes = readFileSync(media('late.mp4'));
      const r = await ingest(media('late.mp4'), 16384, 'late.mp4');
      assert.equal(r.manifest.analyser, 'mp4');
      assert.equal(r.manifest.linear, false);
      assert.deepEqual(r.manifest.tracks.map((t) => t.kind), ['header', 'header', 'media']);
      assert.equal(bytes.toString('latin1', r.manifest.tracks[1]!.offset + 4, r.manifest.tracks[1]!.offset + 8), 'moov');
      assert.equal(r.manifest.blocks[0]!.track, 0);
      assert.ok(Math.abs(r.manifest.media!.durationMs - 5000) < 200);
      assert.deepEqual(await readBack(r), bytes);
    });

    it('MP4 fast start: linear, one track, block size from the bitrate', async () => {
      const r = await ingest(media('fast.mp4'), undefined, 'fast.mp4');
      assert.equal(r.manifest.analyser, 'mp4');
      assert.equal(r.manifest.linear, true);
      assert.equal(r.manifest.tracks.length, 1);
      assert.match(r.manifest.blockSizeReason, /^media: 2 s at/);
      assert.deepEqual(await readBack(r), readFileSync(media('fast.mp4')));
    });

    it('MPEG-TS: linear, blocks on 188-byte packets, bitrate from PCR', async () => {
      const r = await ingest(media('clip.ts'), 50_000, 'clip.ts');
      assert.equal(r.manifest.analyser, 'mpeg-ts');
      assert.equal(r.manifest.blockSize % 188, 0);
      assert.ok(r.manifest.blocks.length > 2);
      for (const b of r.manifest.blocks) assert.equal(b.offset % 188, 0);
      assert.ok(r.manifest.media!.bitrate > 0);
      const bytes = readFileSync(media('clip.ts'));
      assert.deepEqual(await readBack(r), bytes);
    });

    it('a truncated MP4 falls back to generic with a warning and still round-trips', async () => {
      const bytes = readFileSync(media('late.mp4')).subarray(0, 200_000);
      writeFileSync(media('cut.mp4'), bytes);
      const r = await ingest(media('cut.mp4'), undefined, 'cut.mp4');
      assert.equal(r.manifest.analyser, 'generic');
      assert.match(r.warnings.join('\n'), /mp4: .*truncated/);
      assert.equal(createHash('sha256').update(await readBack(r)).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    });
  });
});
