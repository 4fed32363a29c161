import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { parseVolumeSpec } from '../../../src/store/volume-spec.js';

const usage = (e: unknown) => e instanceof CanopyError && e.code === 'ERR_USAGE';

describe('--volume DIR[,weight=W][,capacity=SIZE]', () => {
  it('parses a directory alone and with options in any order', () => {
    assert.deepEqual(parseVolumeSpec('/mnt/d1'), { path: '/mnt/d1' });
    assert.deepEqual(parseVolumeSpec('/mnt/d1,weight=2'), { path: '/mnt/d1', weight: 2 });
    assert.deepEqual(parseVolumeSpec('/mnt/d1,capacity=1GiB,weight=0.5'), { path: '/mnt/d1', weight: 0.5, capacity: 2 ** 30 });
  });

  it('names the part that is wrong', () => {
    assert.throws(() => parseVolumeSpec(''), usage);
    assert.throws(() => parseVolumeSpec('/d,weight=0'), /weight "0"/);
    assert.throws(() => parseVolumeSpec('/d,weight='), /weight ""/);
    assert.throws(() => parseVolumeSpec('/d,capacity=lots'), /capacity "lots"/);
    assert.throws(() => parseVolumeSpec('/d,speed=9'), /unknown option "speed"/);
  });

  it('either parses or throws a usage error, for any input', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const v = parseVolumeSpec(text);
          assert.ok(v.path.length > 0);
          assert.ok(v.weight === undefined || v.weight > 0);
          assert.ok(v.capacity === undefined || v.capacity > 0);
        } catch (e) {
          assert.ok(usage(e), String(e));
        }
      }),
    );
  });

  it('round-trips generated specs', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[a-z0-9/_.-]{1,30}$/), fc.option(fc.integer({ min: 1, max: 1000 })), fc.option(fc.integer({ min: 1, max: 2 ** 40 })), (dir, weight, capacity) => {
        const text = [dir, ...(weight === null ? [] : [`weight=${weight}`]), ...(capacity === null ? [] : [`capacity=${capacity}`])].join(',');
        const v = parseVolumeSpec(text);
        assert.equal(v.path, dir);
        assert.equal(v.weight, weight ?? undefined);
        assert.equal(v.capacity, capacity ?? undefined);
      }),
    );
  });
});
