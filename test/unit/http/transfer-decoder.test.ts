/**
 * The request-body framing decoder of taken bodies (src/http/transfer-decoder.ts): any
 * chunked encoding (sizes in any case, extensions, trailers) or Content-Length body, cut into
 * any pieces, decodes to the body's bytes; every malformed framing fails with ERR_HTTP_REQUEST
 * and never yields bytes that were not sent as chunk data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TransferDecoder, type BodyFraming } from '../../../src/http/transfer-decoder.js';
import { isCanopyError } from '../../../src/core/errors.js';

/** Feeds `wire` in pieces of the given sizes through one scratch buffer overwritten after each push (as the reused read buffer is). */
function decode(framing: BodyFraming, wire: Buffer, sizes: number[]): { body: Buffer; done: boolean } {
  const out: Buffer[] = [];
  const decoder = new TransferDecoder(framing, (b) => out.push(Buffer.from(b)));
  const scratch = Buffer.alloc(wire.length + 1);
  let at = 0;
  let i = 0;
  while (at < wire.length && !decoder.done) {
    const n = Math.max(1, Math.min(wire.length - at, sizes[i++ % Math.max(sizes.length, 1)] ?? wire.length));
    wire.copy(scratch, 0, at, at + n);
    decoder.push(scratch.subarray(0, n));
    scratch.fill(0xee);
    at += n;
  }
  return { body: Buffer.concat(out), done: decoder.done };
}

const chunkArb = fc.record({
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
  upper: fc.boolean(),
  zeros: fc.nat({ max: 3 }),
  ext: fc.option(fc.constantFrom(';a=b', ';name', ' ;x="y z"', '\t;q'), { nil: undefined }),
});

function chunked(chunks: { data: Buffer; upper: boolean; zeros: number; ext: string | undefined }[], trailers: string[]): Buffer {
  const parts = chunks.flatMap((c) => {
    const hex = c.data.length.toString(16);
    return [Buffer.from(`${'0'.repeat(c.zeros)}${c.upper ? hex.toUpperCase() : hex}${c.ext ?? ''}\r\n`), c.data, Buffer.from('\r\n')];
  });
  return Buffer.concat([...parts, Buffer.from(`0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`)]);
}

describe('TransferDecoder', () => {
  it('decodes any chunked body, cut anywhere, and stops at its end', () => {
    fc.assert(
      fc.property(fc.array(chunkArb, { maxLength: 8 }), fc.array(fc.constantFrom('X-A: 1', 'Checksum: abc'), { maxLength: 2 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }), (chunks, trailers, sizes) => {
        const wire = Buffer.concat([chunked(chunks, trailers), Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
        const { body, done } = decode({ chunked: true }, wire, sizes);
        assert.ok(done);
        assert.deepEqual(body, Buffer.concat(chunks.map((c) => c.data)));
      }),
      { numRuns: 500 },
    );
  });

  it('decodes a Content-Length body and ignores what follows', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1 }), (bytes, sizes) => {
        const body = Buffer.from(bytes);
        const got = decode({ length: body.length }, Buffer.concat([body, Buffer.from('extra')]), sizes);
        assert.ok(got.done);
        assert.deepEqual(got.body, body);
      }),
    );
  });

  it('fails a mutated chunked body only with ERR_HTTP_REQUEST; a byte changed inside chunk data changes only that byte', () => {
    fc.assert(
      fc.property(fc.array(chunkArb, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (chunks, at, byte, sizes) => {
        const wire = chunked(chunks, []);
        const pos = at % wire.length;
        // Where each chunk's data sits on the wire, and where in the body.
        const inData: { wire: number; body: number }[] = [];
        let w = 0;
        let b = 0;
        for (const c of chunks) {
          w += `${'0'.repeat(c.zeros)}${c.data.length.toString(16)}${c.ext ?? ''}\r\n`.length;
          inData.push({ wire: w, body: b });
          w += c.data.length + 2;
          b += c.data.length;
        }
        const region = inData.findIndex((d, i) => pos >= d.wire && pos < d.wire + chunks[i]!.data.length);
        const mutated = Buffer.from(wire);
        mutated[pos] = byte;
        try {
          const got = decode({ chunked: true }, mutated, sizes);
          if (region >= 0) {
            const want = Buffer.concat(chunks.map((c) => c.data));
            want[inData[region]!.body + pos - inData[region]!.wire] = byte;
            assert.ok(got.done);
            assert.deepEqual(got.body, want);
          }
        } catch (err) {
          assert.ok(region < 0, 'a change inside chunk data is not a framing error');
          assert.ok(isCanopyError(err, 'ERR_HTTP_REQUEST'), String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses the framings a smuggler or a broken client sends', () => {
    for (const wire of ['zz\r\n', '\r\n', '1\r\nab\r\n', '1\r\na\n', '1\ra', '1234567890abc\r\n', `1;${'x'.repeat(5000)}\r\n`, `0\r\n${'X: y\r\n'.repeat(3000)}\r\n`, '0\r\n\rX']) {
      assert.throws(() => decode({ chunked: true }, Buffer.from(wire), [7]), (err: unknown) => isCanopyError(err, 'ERR_HTTP_REQUEST'), JSON.stringify(wire.slice(0, 30)));
    }
  });

  it('is not done before the last chunk and the final CRLF', () => {
    for (const wire of ['5\r\nabcde\r\n', '5\r\nabcde\r\n0\r\n', '5\r\nabcde\r\n0\r\nX: 1\r\n']) assert.equal(decode({ chunked: true }, Buffer.from(wire), [3]).done, false, wire);
    assert.equal(decode({ length: 10 }, Buffer.from('abc'), [1]).done, false);
  });
});
