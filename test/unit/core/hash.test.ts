import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HASH_STEP_BYTES, sha256Hex, sha256HexStepped } from '../../../src/core/hash.js';

describe('sha256HexStepped', () => {
  it('equals a one-pass SHA-256 for any length, across step boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => assert.equal(await sha256HexStepped(bytes), sha256Hex(bytes))),
      { numRuns: 50 },
    );
    for (const n of [0, HASH_STEP_BYTES - 1, HASH_STEP_BYTES, HASH_STEP_BYTES + 1, 3 * HASH_STEP_BYTES + 777]) {
      const data = randomBytes(n);
      assert.equal(await sha256HexStepped(data), sha256Hex(data), `length ${n}`);
    }
  });

  it('lets the event loop run between steps of a large block', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const data = randomBytes(8 * HASH_STEP_BYTES);
    await sha256HexStepped(data);
    clearInterval(timer);
    // A synchronous hash of 8 MiB would let no timer callback in; stepping lets several in.
    assert.ok(ticks >= 1, `timers ran ${ticks} times during the hash`);
  });
});
