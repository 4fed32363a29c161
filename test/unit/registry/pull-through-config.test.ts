/** The root's pull-through settings: checked with key paths, fuzzed; which upstream and rule a pull falls under. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCanopyError } from '../../../src/core/errors.js';
import { checkPullThroughConfig, ruleFor, upstreamFor } from '../../../src/registry/pull-through-config.js';

test('a full config parses, files are read, defaults fill the rest', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-ptc-'));
  try {
    writeFileSync(path.join(dir, 'pw'), 'secret\n');
    writeFileSync(path.join(dir, 'ca.pem'), 'PEM');
    const c = checkPullThroughConfig('registry', {
      tagCacheSeconds: 30,
      relayReaders: 8,
      upstreams: [
        { host: 'registry.internal:5000', caFile: path.join(dir, 'ca.pem'), username: 'puller', passwordFile: path.join(dir, 'pw'), timeoutSeconds: 5 },
        { host: 'docker.io' },
        { host: 'quay.io', endpoint: 'http://10.0.0.5:5000/' },
      ],
      repositories: [{ pattern: 'registry.internal:5000/ml/*', criteria: 'gpu=h100', placement: 'full' }, { pattern: 'docker.io/library/nginx' }],
    });
    assert.deepEqual([c.tagCacheSeconds, c.relayReaders], [30, 8]);
    assert.deepEqual(c.upstreams[0], { registry: 'registry.internal:5000', ca: 'PEM', credentials: { username: 'puller', password: 'secret' }, timeoutMs: 5000 });
    assert.deepEqual(c.upstreams[2], { registry: 'quay.io', endpoint: 'http://10.0.0.5:5000' }, 'the endpoint is kept as an origin');
    assert.deepEqual(c.repositories[1], { pattern: 'docker.io/library/nginx', criteria: '*', placement: 'on-demand' });
    const d = checkPullThroughConfig('registry', { upstreams: [{ host: 'r:5000', insecure: true }] });
    assert.deepEqual([d.tagCacheSeconds, d.relayReaders, d.repositories], [60, 1, [{ pattern: 'r:5000/*', criteria: '*', placement: 'on-demand' }]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('which upstream and which rule: ns= names the registry (Docker Hub aliases are one), none means the first', () => {
  const c = checkPullThroughConfig('registry', {
    upstreams: [{ host: 'r:5000' }, { host: 'docker.io' }],
    repositories: [{ pattern: 'r:5000/ml/*', criteria: 'gpu=h100' }, { pattern: 'r:5000/tools' }, { pattern: 'docker.io/*' }],
  });
  assert.equal(upstreamFor(c, undefined)?.registry, 'r:5000');
  assert.equal(upstreamFor(c, 'registry-1.docker.io')?.registry, 'docker.io');
  assert.equal(upstreamFor(c, 'elsewhere.io'), undefined);
  assert.equal(ruleFor(c, 'r:5000', 'ml/llama/weights')?.criteria, 'gpu=h100');
  assert.equal(ruleFor(c, 'r:5000', 'mlx/app'), undefined, 'ml/* is a path prefix, not a string prefix');
  assert.equal(ruleFor(c, 'r:5000', 'tools')?.pattern, 'r:5000/tools');
  assert.equal(ruleFor(c, 'r:5000', 'tools/x'), undefined);
  assert.equal(ruleFor(c, 'index.docker.io', 'library/nginx')?.pattern, 'docker.io/*');
});

test('each mistake names its key', () => {
  const cases: [unknown, string][] = [
    [[], 'registry'],
    [{ upstreams: [] }, 'registry.upstreams'],
    [{ upstreams: [{ host: 'bad host' }] }, 'registry.upstreams[0].host'],
    [{ upstreams: [{ host: 'r', colour: 1 }] }, 'registry.upstreams[0].colour'],
    [{ upstreams: [{ host: 'r', username: 'u' }] }, 'registry.upstreams[0]'],
    [{ upstreams: [{ host: 'r', passwordFile: '/nonexistent/pw', username: 'u' }] }, 'registry.upstreams[0].passwordFile'],
    [{ upstreams: [{ host: 'r', timeoutSeconds: 0 }] }, 'registry.upstreams[0].timeoutSeconds'],
    [{ upstreams: [{ host: 'r', endpoint: 'ftp://m:21' }] }, 'registry.upstreams[0].endpoint'],
    [{ upstreams: [{ host: 'r', endpoint: 'https://u:p@m' }] }, 'registry.upstreams[0].endpoint'],
    [{ upstreams: [{ host: 'r', endpoint: 'https://m/v2/' }] }, 'registry.upstreams[0].endpoint'],
    [{ upstreams: [{ host: 'r', endpoint: 'm:5000' }] }, 'registry.upstreams[0].endpoint'],
    [{ upstreams: [{ host: 'r' }], tagCacheSeconds: -1 }, 'registry.tagCacheSeconds'],
    [{ upstreams: [{ host: 'r' }], relayReaders: 0 }, 'registry.relayReaders'],
    [{ upstreams: [{ host: 'r' }], relayReaders: 2.5 }, 'registry.relayReaders'],
    [{ upstreams: [{ host: 'r' }], repositories: [{ pattern: 'other/*' }] }, 'registry.repositories[0].pattern'],
    [{ upstreams: [{ host: 'r' }], repositories: [{ pattern: 'r/Bad/*' }] }, 'registry.repositories[0].pattern'],
    [{ upstreams: [{ host: 'r' }], repositories: [{ pattern: 'r/*', criteria: 'gpu=' }] }, 'registry.repositories[0].criteria'],
    [{ upstreams: [{ host: 'r' }], repositories: [{ pattern: 'r/*', placement: 'prefix:10' }] }, 'registry.repositories[0].placement'],
  ];
  for (const [value, key] of cases) {
    assert.throws(() => checkPullThroughConfig('registry', value), (err) => isCanopyError(err, 'ERR_CONFIG_INVALID') && (err as { details?: { key?: string } }).details?.key === key, JSON.stringify(value));
  }
});

test('any value is either a config or ERR_CONFIG_INVALID, never another throw', () => {
  const upstream = fc.record({ host: fc.oneof(fc.constant('r:5000'), fc.string()), insecure: fc.anything() }, { requiredKeys: ['host'] });
  const rule = fc.record({ pattern: fc.oneof(fc.constant('r:5000/*'), fc.string()), criteria: fc.oneof(fc.constant('a=b'), fc.string()), placement: fc.anything() }, { requiredKeys: ['pattern'] });
  const value = fc.oneof(fc.anything(), fc.record({ tagCacheSeconds: fc.anything(), relayReaders: fc.anything(), upstreams: fc.array(upstream, { maxLength: 3 }), repositories: fc.array(rule, { maxLength: 3 }) }, { requiredKeys: ['upstreams'] }));
  fc.assert(
    fc.property(value, (v) => {
      try {
        checkPullThroughConfig('registry', v);
      } catch (err) {
        assert.ok(isCanopyError(err, 'ERR_CONFIG_INVALID'), String(err));
      }
    }),
    { numRuns: 1000 },
  );
});
