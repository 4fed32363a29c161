import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import path from 'node:path';
import { stringify } from 'yaml';
import { CanopyError } from '../../../src/core/errors.js';
import { CONFIG_KEYS, nodeConfigFrom, parseConfigText } from '../../../src/node/config-file.js';

function fails(text: string, key: RegExp): void {
  assert.throws(
    () => parseConfigText(text, 'node.yaml'),
    (err: unknown) => err instanceof CanopyError && err.code === 'ERR_CONFIG_INVALID' && key.test(err.message),
  );
}

describe('config file', () => {
  it('reads every documented key', () => {
    const c = parseConfigText(
      [
        'name: edge-1',
        'data: /var/lib/canopy',
        'root: false',
        'join: 10.0.0.1:7400',
        'attrs: { region: eu, tier: edge, lab: }',
        'host: 0.0.0.0',
        'apiHost: 127.0.0.2',
        'apiTokenFile: /etc/canopy/api-token',
        'peerPort: 0',
        'apiPort: 9401',
        'httpPort: 9402',
        'volumes: [/d1, { path: /d2, weight: 2, capacity: 1GiB }]',
        'quota: 2GiB',
        'fanout: 8',
        'heartbeatMs: 500',
        'keepHistory: 2d',
        'evict: lfu',
        'blockSize: 1MiB',
        'downloadConcurrency: 8',
        'logLevel: debug',
        'ftpPort: 2121',
        's3Port: 9404',
        's3Domain: s3.example.org',
        'ftp: { users: ["alice:s3cret:with:colons"], anonymous: true, requireTls: true, tlsCert: /c.pem, tlsKey: /k.pem }',
        'prefetch: false',
        'uploadCap: 100mbit',
        'downloadCap: 5000000',
        'https: { api: true, edge: true, cert: /etc/canopy/edge1.crt, key: /etc/canopy/edge1.key, names: [edge1.example.net, 10.0.0.11] }',
        'registry: { upstreams: [{ host: "registry.internal:5000" }] }',
      ].join('\n'),
    );
    assert.deepEqual(c, {
      name: 'edge-1',
      dataDir: '/var/lib/canopy',
      isRoot: false,
      join: { host: '10.0.0.1', port: 7400 },
      roots: [{ host: '10.0.0.1', port: 7400 }],
      attrs: { region: 'eu', tier: 'edge', lab: '' },
      host: '0.0.0.0',
      apiHost: '127.0.0.2',
      apiTokenFile: '/etc/canopy/api-token',
      peerPort: 0,
      apiPort: 9401,
      httpPort: 9402,
      volumes: [{ path: '/d1' }, { path: '/d2', weight: 2, capacity: 2 ** 30 }],
      quota: 2 * 2 ** 30,
      fanout: 8,
      heartbeatMs: 500,
      keepHistoryMs: 2 * 86_400_000,
      evictionPolicy: 'lfu',
      blockSize: 2 ** 20,
      downloadConcurrency: 8,
      logLevel: 'debug',
      ftpPort: 2121,
      s3Port: 9404,
      s3Domain: 's3.example.org',
      ftp: { users: [{ name: 'alice', password: 's3cret:with:colons' }], anonymous: true, requireTls: true, tlsCert: '/c.pem', tlsKey: '/k.pem' },
      prefetch: false,
      uploadCap: 12_500_000,
      downloadCap: 5_000_000,
      https: { api: true, edge: true, cert: '/etc/canopy/edge1.crt', key: '/etc/canopy/edge1.key', names: ['edge1.example.net', '10.0.0.11'] },
      registry: { tagCacheSeconds: 60, relayReaders: 1, upstreams: [{ registry: 'registry.internal:5000' }], repositories: [{ pattern: 'registry.internal:5000/*', criteria: '*', placement: 'on-demand' }] },
    });
    assert.equal(CONFIG_KEYS.length, 32);
  });

  it('pull-through upstreams are the root\'s alone', () => {
    const registry = parseConfigText('registry: { upstreams: [{ host: "r:5000" }] }').registry!;
    assert.throws(() => nodeConfigFrom({ join: { host: '10.0.0.1', port: 7400 }, registry }, '/tmp/x'), (err: unknown) => err instanceof CanopyError && /^registry: only the root/.test(err.message));
    assert.equal(nodeConfigFrom({ isRoot: true, registry }, '/tmp/x').registry, registry);
  });

  it('accepts attributes as a list and an empty file', () => {
    assert.deepEqual(parseConfigText('attrs: [region=eu, lab]').attrs, { region: 'eu', lab: '' });
    assert.deepEqual(parseConfigText(''), {});
    assert.deepEqual(parseConfigText('# only a comment\n'), {});
  });

  it('names the key and the problem', () => {
    fails('apiPort: 70000', /^apiPort: 70000 is out of range/);
    fails('apiPort: "80"', /^apiPort: expected an integer/);
    fails('volumes: /d1', /^volumes: expected a list/);
    fails('volumes: [/d1, { path: /d2, weight: 0 }]', /^volumes\[1\]\.weight: 0 is out of range/);
    fails('volumes: [{ path: /d2, wieght: 2 }]', /^volumes\[0\]\.wieght: unknown key/);
    fails('evict: random', /^evict: expected one of lru, lfu/);
    fails('volumes: [{ path: /d2, capacity: 0 }]', /^volumes\[0\]\.capacity: must be above 0/);
    fails('join: nowhere', /^join: "nowhere" is not host:port/);
    fails('attrs: { "bad key": x }', /^attrs.bad key: not a valid attribute key/);
    fails('attrs: ["re gion=eu"]', /^attrs\[0\]: "re gion=eu" holds more than one/);
    fails('attrs: ["-x=eu"]', /^attrs: invalid attribute/);
    fails('blockSize: lots', /^blockSize: invalid size/);
    fails('root: yes please', /^root: expected true or false/);
    fails('logLevel: loud', /^logLevel: expected one of/);
    fails('ftp: { users: [nopassword] }', /^ftp\.users\[0\]: account: expected name:password/);
    fails('ftp: { anonymus: true }', /^ftp\.anonymus: unknown key/);
    fails('ftp: { usersFile: /nonexistent/canopy-users }', /^ftp\.usersFile: ftpUsersFile: cannot read/);
    fails('prefetch: maybe', /^prefetch: expected true or false/);
    fails('keepHistory: a week', /^keepHistory: expected a duration/);
    fails('https: true', /^https: expected a mapping/);
    fails('https: { apii: true }', /^https\.apii: unknown key/);
    fails('https: { names: edge1 }', /^https\.names: expected a list/);
    fails('https: { api: yes }', /^https\.api: expected true or false/);
    fails('prot: 1', /^prot: unknown key/);
    fails('- a\n- b', /^\(top level\): expected a mapping/);
    fails('name: [unclosed', /^node\.yaml:1:\d+: YAML syntax/);
    fails('name: a\nname: b', /YAML syntax/);
  });

  it('lets makeConfig apply the defaults and its own checks', () => {
    const c = nodeConfigFrom(parseConfigText('root: true\nblockSize: 4KiB'), '/tmp/x');
    assert.equal(c.apiPort, 7401);
    assert.equal(c.blockSize, 4096);
    assert.throws(() => nodeConfigFrom(parseConfigText('blockSize: 1KiB\nroot: true'), '/tmp/x'), /blockSize/);
    assert.throws(() => nodeConfigFrom(parseConfigText('name: x'), '/tmp/x'), /join:/);
    assert.equal(c.keepHistoryMs, 7 * 86_400_000, 'records of withdrawn contents are kept 7 days by default');
    assert.equal(nodeConfigFrom(parseConfigText('root: true\nkeepHistory: 12h'), '/tmp/x').keepHistoryMs, 12 * 3_600_000);
    assert.throws(() => nodeConfigFrom(parseConfigText('root: true\nkeepHistory: 10s'), '/tmp/x'), /keepHistory: 10000 ms must be from 1 minute/);
  });

  it('checks the HTTPS settings as a whole', () => {
    const root = (https: string) => nodeConfigFrom(parseConfigText(`root: true\nhttps: ${https}`), '/tmp/x').https;
    assert.deepEqual(nodeConfigFrom(parseConfigText('root: true'), '/tmp/x').https, { api: false, edge: false, cert: undefined, key: undefined, names: [] });
    assert.deepEqual(root('{ api: true, names: [Edge1.Example.NET, "[::1]", edge1.example.net] }').names, ['edge1.example.net', '::1']);
    assert.equal(root('{ edge: true, cert: c.pem, key: k.pem }').cert, path.resolve('c.pem'));
    assert.throws(() => root('{ api: true, cert: c.pem }'), /https: cert needs key too/);
    assert.throws(() => root('{ api: true, key: k.pem }'), /https: key needs cert too/);
    assert.throws(() => root('{ cert: c.pem, key: k.pem }'), /neither api nor edge/);
    assert.throws(() => root('{ api: true, names: ["*.example.net"] }'), /https\.names: "\*\.example\.net" is not a DNS name or an IP address/);
  });

  it('never throws anything but ERR_CONFIG_INVALID on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseConfigText(text);
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_CONFIG_INVALID', String(err));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('either accepts or names a known key for arbitrary documents over the known keys', () => {
    const value = fc.oneof(fc.integer({ min: -10, max: 70000 }), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }));
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...CONFIG_KEYS, 'bogus'), value), (doc) => {
        try {
          parseConfigText(stringify(doc));
        } catch (err) {
          assert.ok(err instanceof CanopyError && err.code === 'ERR_CONFIG_INVALID', String(err));
          const key = String(err.message).split(/[:.[]/)[0];
          assert.ok([...CONFIG_KEYS, 'bogus'].includes(key as never), `message should start with a key: ${err.message}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips generated valid configs', () => {
    const cfg = fc.record(
      {
        name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        apiPort: fc.integer({ min: 0, max: 65535 }),
        attrs: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.stringMatching(/^[a-z0-9]{1,10}$/), { maxKeys: 4 }),
        downloadConcurrency: fc.integer({ min: 1, max: 256 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(cfg, (c) => {
        const attrs = c.attrs && Object.fromEntries(Object.entries(c.attrs).filter(([k]) => k !== 'node'));
        const input = { ...c, ...(attrs ? { attrs } : {}) };
        const out = parseConfigText(stringify(input));
        assert.deepEqual(out, input);
      }),
      { numRuns: 300 },
    );
  });
});
