/**
 * ListObjects paging as a property: following the continuation tokens page by page lists
 * exactly what one unbounded page lists, for any keys, prefix, delimiter and page size;
 * malformed parameters are InvalidArgument. Addresses: a key with `.`/`..` segments is
 * refused whatever its spelling, and path and virtual-host styles name the same object.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareKeys, listPage, parseListQuery, type ObjectEntry } from '../../../../src/edge/s3/list-objects.js';
import { parseAddress } from '../../../../src/edge/s3/s3-address.js';
import { S3Error } from '../../../../src/edge/s3/s3-error.js';
import { listObjectsXml } from '../../../../src/edge/s3/s3-xml.js';

const entry = (key: string): ObjectEntry => ({ key, size: key.length, etag: '"x"', lastModified: '2026-01-01T00:00:00.000Z' });
const keyArb = fc.array(fc.constantFrom('a', 'b', '/', 'é', '😀', 'z', '-'), { minLength: 1, maxLength: 6 }).map((a) => a.join(''));

function all(objects: ObjectEntry[], params: Record<string, string>, v2: boolean): { keys: string[]; prefixes: string[]; pages: number } {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let extra: Record<string, string> = {};
  for (let pages = 1; ; pages++) {
    const page = listPage(objects, parseListQuery(new Map(Object.entries({ ...params, ...extra })), v2));
    keys.push(...page.objects.map((o) => o.key));
    prefixes.push(...page.prefixes);
    if (!page.truncated) return { keys, prefixes, pages };
    assert.ok(page.next, 'a truncated page says where the next one starts');
    extra = v2 ? { 'continuation-token': page.next.token } : { marker: page.next.after };
    assert.ok(pages < 10_000);
  }
}

describe('ListObjects paging', () => {
  it('pages joined equal one whole listing (v2 tokens and v1 markers)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 40 }), fc.constantFrom('', 'a', 'b/', 'é'), fc.constantFrom('', '/', 'é'), fc.integer({ min: 1, max: 7 }), fc.boolean(), (keys, prefix, delimiter, maxKeys, v2) => {
        const objects = keys.sort(compareKeys).map(entry);
        const params = { prefix, delimiter, ...(v2 ? { 'list-type': '2' } : {}) };
        const whole = all(objects, params, v2);
        const paged = all(objects, { ...params, 'max-keys': String(maxKeys) }, v2);
        assert.deepEqual(paged.keys, whole.keys);
        assert.deepEqual(paged.prefixes, whole.prefixes);
        const expected = keys.filter((k) => k.startsWith(prefix) && (delimiter === '' || !k.slice(prefix.length).includes(delimiter)));
        assert.deepEqual(whole.keys, expected);
        assert.ok(whole.prefixes.every((p) => p.startsWith(prefix) && p.endsWith(delimiter)));
        assert.equal(new Set(whole.prefixes).size, whole.prefixes.length);
      }),
      { numRuns: 400 },
    );
  });

  it('orders keys by UTF-8 bytes, as S3 does', () => {
    const keys = ['\uFF61', '😀', 'a'].sort(compareKeys);
    assert.deepEqual(keys, ['a', '\uFF61', '😀']);
  });

  it('refuses malformed parameters with InvalidArgument, never another error', () => {
    const bad: Record<string, string>[] = [{ 'max-keys': '-1' }, { 'max-keys': 'ten' }, { 'max-keys': '1.5' }, { 'list-type': '1' }, { 'encoding-type': 'xml' }, { 'continuation-token': 'e30' }, { 'continuation-token': '!!' }, { 'continuation-token': '' }, { prefix: 'x'.repeat(1025) }];
    for (const params of bad) assert.throws(() => parseListQuery(new Map(Object.entries({ 'list-type': '2', ...params })), true), (e: S3Error) => e.s3Code === 'InvalidArgument', JSON.stringify(params));
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('max-keys', 'continuation-token', 'prefix', 'delimiter', 'start-after', 'encoding-type', 'list-type'), fc.string({ maxLength: 30 })), (params) => {
        try {
          const q = parseListQuery(new Map(Object.entries(params)), true);
          listObjectsXml('b', listPage([entry('a/b'), entry('c')], q), true);
        } catch (e) {
          assert.ok(e instanceof S3Error && e.s3Code === 'InvalidArgument', String(e));
        }
      }),
    );
  });

  it('clamps max-keys to 1000 and url-encodes keys when asked', () => {
    const q = parseListQuery(new Map([['max-keys', '5000'], ['encoding-type', 'url']]), false);
    assert.equal(q.maxKeys, 1000);
    assert.match(listObjectsXml('b', listPage([entry('a b/é')], q), false), /<Key>a%20b\/%C3%A9<\/Key>/);
  });
});

describe('S3 addresses', () => {
  it('path style and virtual-host style name the same bucket and key', () => {
    assert.deepEqual(parseAddress('/weights.bin/dir/a%20b.txt', '127.0.0.1:7404', 'localhost'), { bucket: 'weights.bin', key: 'dir/a b.txt', virtualHost: false });
    assert.deepEqual(parseAddress('/dir/a%20b.txt', 'weights.bin.localhost:7404', 'localhost'), { bucket: 'weights.bin', key: 'dir/a b.txt', virtualHost: true });
    assert.deepEqual(parseAddress('/', 'localhost:7404', 'localhost'), { bucket: undefined, key: undefined, virtualHost: false });
  });

  it('refuses a key with . or .. segments in any spelling', () => {
    const seg = fc.constantFrom('.', '..', '%2E', '%2e%2E', '.%2e');
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,4}$/), { maxLength: 3 }), seg, fc.array(fc.stringMatching(/^[a-z]{1,4}$/), { maxLength: 3 }), (before, dots, afterParts) => {
        const raw = `/bucket/${[...before, dots, ...afterParts].join('/')}`;
        assert.throws(() => parseAddress(raw, 'h', 'localhost'), (e: S3Error) => e.s3Code === 'InvalidArgument');
      }),
    );
    assert.throws(() => parseAddress('/bucket/%zz', 'h', 'localhost'), (e: S3Error) => e.s3Code === 'InvalidURI');
  });
});

describe('a bucket of 10,000 small objects', () => {
  it('lists in pages of 1,000 (v2 tokens) and by delimiter, in key order, quickly', () => {
    const objects = Array.from({ length: 10_000 }, (_, i) => entry(`shard-${String(i % 100).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.bin`)).sort((a, b) => compareKeys(a.key, b.key));
    const started = performance.now();
    const flat = all(objects, { 'list-type': '2' }, true);
    assert.equal(flat.pages, 10);
    assert.deepEqual(flat.keys, objects.map((o) => o.key));
    const rolled = all(objects, { 'list-type': '2', delimiter: '/', 'max-keys': '7' }, true);
    assert.equal(rolled.prefixes.length, 100);
    assert.equal(rolled.keys.length, 0);
    const one = all(objects, { 'list-type': '2', prefix: 'shard-42/' }, true);
    assert.equal(one.keys.length, 100);
    // Not a timing threshold on the machine: a bound that only a quadratic listing would pass.
    assert.ok(performance.now() - started < 20_000);
  });
});
