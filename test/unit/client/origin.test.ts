/**
 * Origin versions and retries: two versions are the same object only with the same size and
 * ETag (or, without ETags, the same Last-Modified); only retriable origin errors (a cut, a
 * stall, 5xx, 429, 408) are retried, at most `retries` times; 4xx and other errors fail at
 * once. The default content name of an origin URL is its last path segment, decoded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CanopyError, isCanopyError } from '../../../src/core/errors.js';
import { originError, sameVersion, withRetries } from '../../../src/client/origins/origin.js';
import { originName } from '../../../src/client/origins/open-origin.js';

describe('origin versions and retries', () => {
  it('compares versions by size and ETag, else Last-Modified', () => {
    assert.equal(sameVersion({ size: 1, etag: '"a"' }, { size: 1, etag: '"a"', lastModified: 'x' }), true);
    assert.equal(sameVersion({ size: 1, etag: '"a"' }, { size: 1, etag: '"b"' }), false);
    assert.equal(sameVersion({ size: 1, etag: '"a"' }, { size: 2, etag: '"a"' }), false);
    assert.equal(sameVersion({ size: 1, etag: '"a"' }, { size: 1, lastModified: 'x' }), false);
    assert.equal(sameVersion({ size: 1, lastModified: 'x' }, { size: 1, lastModified: 'x' }), true);
    assert.equal(sameVersion({ size: 1, lastModified: 'x' }, { size: 1, lastModified: 'y' }), false);
  });

  it('retries only what may pass, at most `retries` times', async () => {
    for (const [status, attempts] of [[500, 3], [503, 3], [429, 3], [408, 3], [404, 1], [403, 1]] as const) {
      let n = 0;
      await assert.rejects(
        withRetries(2, async () => {
          n++;
          throw originError('http://o/x', status);
        }, 1),
        (e) => isCanopyError(e, 'ERR_ORIGIN') && e.message.includes(String(status)),
      );
      assert.equal(n, attempts, `status ${status}`);
    }
    let n = 0;
    assert.equal(await withRetries(3, async () => (++n < 3 ? Promise.reject(originError('u', 502)) : 'ok'), 1), 'ok');
    n = 0;
    await assert.rejects(withRetries(3, async () => {
      n++;
      throw new CanopyError('ERR_SOURCE_CHANGED', 'changed');
    }, 1));
    assert.equal(n, 1, 'a changed object is never retried');
  });

  it('names a content after the URL', () => {
    assert.equal(originName('https://h/a/b/model%20v2.bin?x=1'), 'model v2.bin');
    assert.equal(originName('http://example.org/'), 'example.org');
  });
});
