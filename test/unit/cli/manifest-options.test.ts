/**
 * The manifest options shared by `canopy publish` and `canopy ingest`: good values parse to
 * the settings the pipeline takes; any text in any option either parses or fails with a
 * coded error, before a byte of the file is read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { manifestSettings } from '../../../src/cli/manifest-options.js';

describe('manifest options', () => {
  it('parses good values into settings', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    const s = manifestSettings('/x/build.img', { criteria: 'region=eu', blockSize: '1MiB', blockSeconds: '4', chunking: 'cdc', expires: '12h', window: '22:00-06:00', rate: '10MiB', placement: 'prefix:25' }, now);
    assert.deepEqual(s, {
      criteria: 'region=eu',
      name: 'build.img',
      blockSize: 2 ** 20,
      blockSeconds: 4,
      chunking: 'cdc',
      expires: '2026-11-26T00:00:00.000Z',
      prefetch: { window: '22:00-06:00', rate: 10 * 2 ** 20 },
      placement: 'prefix:25',
    });
    assert.equal(manifestSettings('/x/a.bin', { criteria: '*' }).prefetch, undefined);
  });

  it('either parses any text or fails with a coded error', () => {
    const text = fc.option(fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('cdc', 'fixed', '1h', '22:00-06:00', '4MiB', 'full', 'on-demand', 'prefix:50')), { nil: undefined });
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), text, text, text, text, text, text, text, text, (criteria, name, blockSize, blockSeconds, chunking, expires, window, rate, placement) => {
        try {
          manifestSettings('/x/file', { criteria, name, blockSize, blockSeconds, chunking, expires, window, rate, placement });
        } catch (err) {
          assert.ok(err instanceof CanopyError, `not a coded error: ${String(err)}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
