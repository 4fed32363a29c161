/** Configuration values from users: any input either makes a valid config or a coded error naming the key. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { makeConfig } from '../../../src/node/config.js';

describe('node config', () => {
  it('accepts or refuses with ERR_CONFIG_INVALID, naming the key', () => {
    const port = fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double(), fc.constant(Number.NaN));
    fc.assert(
      fc.property(fc.record({ isRoot: fc.boolean(), peerPort: port, apiPort: port, httpPort: port, blockSize: fc.oneof(fc.integer({ min: -1, max: 2 ** 27 }), fc.double()), withJoin: fc.boolean() }), (r) => {
        try {
          const c = makeConfig({ dataDir: '/tmp/canopy-config-fuzz', isRoot: r.isRoot, peerPort: r.peerPort, apiPort: r.apiPort, httpPort: r.httpPort, blockSize: r.blockSize, join: r.withJoin ? { host: '127.0.0.1', port: 1 } : undefined });
          assert.ok(Number.isInteger(c.peerPort) && c.peerPort >= 0 && c.peerPort <= 65535);
          assert.ok(c.blockSize === undefined || (c.blockSize >= 4096 && c.blockSize <= 64 * 2 ** 20));
          assert.equal(c.apiHost, '127.0.0.1', 'the API binds to loopback unless told otherwise');
        } catch (err) {
          if (!(err instanceof CanopyError) || err.code !== 'ERR_CONFIG_INVALID') throw err;
          assert.match(err.message, /^(join|blockSize|peerPort|apiPort|httpPort):/);
        }
      }),
    );
  });
});
