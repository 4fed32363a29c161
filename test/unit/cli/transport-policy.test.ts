import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CanopyError } from '../../../src/core/errors.js';
import { checkTokenTransport, isLoopbackHost } from '../../../src/client/transport-policy.js';
import { runCli } from '../../helpers/cli.js';

const ipv4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));

describe('API tokens and plain http', () => {
  it('refuses a token over http:// to any host that is not loopback, unless told', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 1, max: 65535 }), (host, port) => {
        const url = new URL(`http://${host}:${port}`);
        const loopback = host.startsWith('127.');
        assert.equal(isLoopbackHost(url.hostname), loopback);
        if (loopback) checkTokenTransport(url, true, false);
        else assert.throws(() => checkTokenTransport(url, true, false), (e: unknown) => e instanceof CanopyError && e.code === 'ERR_INSECURE_TRANSPORT');
        checkTokenTransport(url, true, true);
        checkTokenTransport(url, false, false);
        checkTokenTransport(new URL(`https://${host}:${port}`), true, false);
      }),
    );
    for (const h of ['localhost', '[::1]', 'api.localhost']) checkTokenTransport(new URL(`http://${h}:7401`), true, false);
    for (const h of ['[::2]', 'root.example', '127.0.0.1.example', '[::ffff:10.0.0.1]']) assert.throws(() => checkTokenTransport(new URL(`http://${h}:7401`), true, false), /clear text/);
  });

  it('the CLI stops before connecting, and names the ways out', async () => {
    const r = await runCli(['status', '--to', 'http://192.0.2.10:7401'], { env: { CANOPY_API_TOKEN: 'cat1.0123456789abcdef.' + 'a'.repeat(43) } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[ERR_INSECURE_TRANSPORT\]: refusing to send the API token in clear text to 192\.0\.2\.10:7401: .*ssh -L.*--insecure-http/);
  });
});
