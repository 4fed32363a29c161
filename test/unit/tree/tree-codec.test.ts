import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { fromBits } from '../../../src/tree/bitmap.js';
import { decodeTreeMessage, encodeTreeMessage } from '../../../src/tree/tree-codec.js';
import type { TreeMessage } from '../../../src/tree/tree-messages.js';

const id = fc.string({ minLength: 1, maxLength: 20 });
const ref = fc.record({ id, addr: fc.constantFrom('127.0.0.1:7400', '[::1]:9', 'h:1') });
const bitmap = fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 10 }).map(fromBits);
const rollup = fc.record({ or: bitmap, and: bitmap, count: fc.nat(), ids: bitmap });
const attrs = fc.dictionary(fc.constantFrom('region', 'tier', 'lab'), fc.constantFrom('', 'eu', 'edge'));
const message: fc.Arbitrary<TreeMessage> = fc.oneof(
  fc.record({ k: fc.constant('join' as const), self: ref, attrs }),
  fc.record({ k: fc.constant('info' as const), children: fc.array(ref), room: fc.boolean() }),
  fc.record({ k: fc.constant('info' as const), children: fc.array(ref), room: fc.boolean(), dict: fc.array(id) }),
  fc.record({ k: fc.constant('walk' as const), self: ref }),
  fc.record({ k: fc.constant('adopt' as const), self: ref, rollup, seen: fc.array(id) }),
  fc.record({ k: fc.constant('adopted' as const), path: fc.array(ref), seen: fc.array(id) }),
  fc.record({ k: fc.constant('refused' as const), children: fc.array(ref), cycle: fc.boolean() }),
  fc.record({ k: fc.constant('down' as const), path: fc.array(ref), dictBase: fc.nat(), dict: fc.array(id) }),
  fc.record({ k: fc.constant('up' as const), rollup, dictVersion: fc.nat() }),
  fc.constant({ k: 'leave' as const }),
  fc.record({ k: fc.constant('dict-add' as const), attrs }),
  fc.record({ k: fc.constant('flood' as const), id, origin: id, payload: fc.record({ contentId: id }) }),
  fc.record({ k: fc.constant('ack' as const), id }),
  fc.record({ k: fc.constant('route' as const), id, origin: id, criteria: fc.constantFrom('*', 'region=eu'), payload: fc.record({ x: fc.nat() }) }),
  fc.record({ k: fc.constant('count' as const), qid: id, criteria: fc.constantFrom('*', 'lab') }),
  fc.record({ k: fc.constant('counted' as const), qid: id, n: fc.nat(), partial: fc.boolean() }),
);

describe('tree message codec', () => {
  it('round-trips every message through JSON', () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = decodeTreeMessage(JSON.parse(JSON.stringify(encodeTreeMessage(m))));
        assert.equal(JSON.stringify(encodeTreeMessage(back)), JSON.stringify(encodeTreeMessage(m)));
      }),
    );
  });

  it('rejects anything malformed with ERR_WIRE_PROTOCOL and nothing else', () => {
    const mutated = message.chain((m) =>
      fc.tuple(fc.constantFrom(...Object.keys(encodeTreeMessage(m))), fc.jsonValue()).map(([field, v]) => ({ ...encodeTreeMessage(m), [field]: v })),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutated), (v) => {
        try {
          decodeTreeMessage(v);
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_WIRE_PROTOCOL', String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
