import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AttributeDictionary, DictionaryLog, UNKNOWN_BIT } from '../../../src/tree/attribute-dictionary.js';
import { bitsOf, hasBit } from '../../../src/tree/bitmap.js';

const attrs = fc.dictionary(fc.constantFrom('region', 'tier', 'lab', 'gpu'), fc.constantFrom('', 'eu', 'us', 'edge'));

describe('attribute dictionary', () => {
  it('gives every attribute a stable bit; copies fed deltas agree with the root', () => {
    fc.assert(
      fc.property(fc.array(attrs, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (batches, cuts) => {
        const root = new AttributeDictionary();
        const copy = new AttributeDictionary();
        batches.forEach((a, i) => {
          const before = root.bitmapOf(a);
          root.register(a);
          // A copy that receives the delta from any version it already has catches up exactly.
          const from = Math.min(copy.version, (cuts[i] ?? 0) % (copy.version + 1));
          copy.extend(from, root.since(from));
          assert.equal(copy.version, root.version);
          assert.deepEqual(bitsOf(copy.bitmapOf(a)), bitsOf(root.bitmapOf(a)));
          assert.ok(!hasBit(root.bitmapOf(a), UNKNOWN_BIT));
          // Bits are never reassigned: what was known before keeps its bit.
          for (const b of bitsOf(before)) if (b !== UNKNOWN_BIT) assert.ok(hasBit(root.bitmapOf(a), b));
        });
      }),
    );
  });

  it('flags attributes it does not know yet and ignores deltas that leave a gap', () => {
    const d = new AttributeDictionary();
    assert.ok(hasBit(d.bitmapOf({ region: 'eu' }), UNKNOWN_BIT));
    assert.equal(d.extend(3, ['x']), false);
    assert.equal(d.version, 0);
    assert.equal(d.bitmapOf({}).length, 0);
  });

  it('lets simulated nodes share one log while each keeps its own version', () => {
    const log = new DictionaryLog();
    const root = new AttributeDictionary(log);
    const node = new AttributeDictionary(log);
    root.register({ region: 'eu' });
    assert.equal(node.bitOf('region=eu'), undefined, 'not learnt yet');
    node.extend(0, root.since(0));
    assert.equal(node.bitOf('region=eu'), root.bitOf('region=eu'));
  });
});
