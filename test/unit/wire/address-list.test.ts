/** `--join a:1,b:2` (several roots): the list parser, property-tested. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAddress, parseAddressList } from '../../../src/wire/transport.js';

const host = fc.oneof(fc.ipV4(), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}$/), fc.ipV6().map((h) => `[${h}]`));
const address = fc.tuple(host, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);

describe('root address lists', () => {
  it('parses every list of valid addresses, in order, as the single parser does', () => {
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 16 }), (items) => {
        assert.deepEqual(parseAddressList(items.join(',')), items.map((i) => parseAddress(i)));
      }),
    );
  });

  it('refuses a list with any bad item, an empty item, or more than 16 roots', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 5 }), fc.string(), fc.nat(5), (items, junk, at) => {
        fc.pre(junk.split(',').some((x) => parseAddress(x) === null));
        const list = [...items];
        list.splice(Math.min(at, list.length), 0, junk);
        assert.equal(parseAddressList(list.join(',')), null);
      }),
    );
    assert.equal(parseAddressList(''), null);
    assert.equal(parseAddressList('a:1,,b:2'), null);
    assert.equal(parseAddressList(Array.from({ length: 17 }, (_, i) => `h:${i + 1}`).join(',')), null);
  });
});
