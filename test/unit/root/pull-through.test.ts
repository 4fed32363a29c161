/** Who may pull through, decided before anything is asked upstream (the upstream here is a closed port: any fetch would fail with 503). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { checkPullThroughConfig } from '../../../src/registry/pull-through-config.js';
import { PullThrough } from '../../../src/root/pull-through.js';

test('an upstream not configured, a repository no rule covers, an asker outside the criteria: 404 without an upstream request', async () => {
  const config = checkPullThroughConfig('registry', { upstreams: [{ host: '127.0.0.1:9', insecure: true, timeoutSeconds: 2 }], repositories: [{ pattern: '127.0.0.1:9/ml/*', criteria: 'gpu=h100' }] });
  const pt = new PullThrough({ config, spoolDir: '/nonexistent', publish: () => Promise.reject(new Error('not reached')), log: createLogger({}, 'error') });
  try {
    const gpu = { nodeId: 'n1', attrs: { gpu: 'h100' } };
    const cases = [
      [gpu, { registry: 'elsewhere.io', repository: 'ml/llm', reference: 'v1', blob: false, offset: 0 }, 'MANIFEST_UNKNOWN', /not an upstream/],
      [gpu, { repository: 'tools/x', reference: 'v1', blob: false, offset: 0 }, 'MANIFEST_UNKNOWN', /no repository rule/],
      [{ nodeId: 'n2', attrs: { gpu: 'none' } }, { repository: 'ml/llm', reference: `sha256:${'a'.repeat(64)}`, blob: true, offset: 0 }, 'BLOB_UNKNOWN', /does not meet the criteria/],
    ] as const;
    for (const [asker, q, code, why] of cases) {
      const { body } = await pt.answer(asker, q);
      assert.equal(body.status, 404);
      assert.equal(body.code, code);
      assert.match(body.message!, why);
    }
    for (const q of [{ repository: 'ml/../../v2/_catalog', reference: 'v1' }, { repository: 'ml/llm', reference: '../x' }, { repository: 'ml/llm', reference: 'v1', blob: true }]) {
      const { body } = await pt.answer(gpu, { blob: false, offset: 0, ...q });
      assert.equal(body.status, 400, JSON.stringify(q));
    }
    assert.deepEqual(pt.upstreamRequests, { tags: 0, manifests: 0, blobs: 0 });
    // The qualified asker does reach the upstream, which is down: 503, not a thrown error.
    const { body } = await pt.answer(gpu, { repository: 'ml/llm', reference: 'v1', blob: false, offset: 0 });
    assert.deepEqual([body.status, body.code], [503, 'UNAVAILABLE']);
    assert.equal(pt.upstreamRequests.tags, 1);
  } finally {
    await pt.stop();
  }
});

/**
 * `relayReaders`: how many askers of a big blob still being fetched get its bytes from the
 * root while they arrive; the next ones follow (wait for its content). The upstream is a
 * local HTTP server that sends the first MiB of a 9 MiB blob and holds the rest back.
 */
test('the first relayReaders askers of a blob being fetched are relayed to; the next ones follow', async () => {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (!req.url?.includes('/blobs/')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(9 * 2 ** 20), 'docker-content-digest': digest });
    res.write(Buffer.alloc(2 ** 20, 7));
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const digest = `sha256:${'b'.repeat(64)}`;
  const spoolDir = mkdtempSync(path.join(tmpdir(), 'canopy-pt-relay-'));
  const relayedTo = async (relayReaders: number | undefined, askers: number): Promise<boolean[]> => {
    const config = checkPullThroughConfig('registry', { ...(relayReaders ? { relayReaders } : {}), upstreams: [{ host, insecure: true }] });
    const pt = new PullThrough({ config, spoolDir, publish: () => new Promise(() => undefined), log: createLogger({}, 'error') });
    try {
      const relayed: boolean[] = [];
      for (let i = 0; i < askers; i++) {
        const { body, payload } = await pt.answer({ nodeId: `n${i}`, attrs: {} }, { repository: 'team/app', reference: digest, blob: true, offset: 0 });
        assert.equal(body.status, 200, body.message);
        relayed.push(!body.follow && payload !== undefined && payload.length > 0);
      }
      assert.equal(pt.upstreamRequests.blobs, 1, 'one upstream fetch whoever asks');
      return relayed;
    } finally {
      for (const s of sockets) s.destroy();
      await pt.stop();
    }
  };
  try {
    assert.deepEqual(await relayedTo(undefined, 3), [true, false, false], 'by default the first asker only');
    assert.deepEqual(await relayedTo(2, 4), [true, true, false, false]);
  } finally {
    server.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
});

/**
 * Tags are resolved upstream once per `tagCacheSeconds` (a tag may move); a manifest named
 * by digest is fetched once and kept (it cannot change). The upstream is a local HTTP
 * server whose tag `v1` names one manifest, then another.
 */
test('a tag is asked upstream again only after tagCacheSeconds; a digest is fetched once', async () => {
  const manifest = (n: number) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', annotations: { n: String(n) } }));
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  let current = manifest(1);
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url!);
    const ref = req.url!.split('/manifests/')[1];
    const body = ref === 'v1' ? current : [manifest(1), manifest(2)].find((m) => sha(m) === ref);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(body.length), 'docker-content-digest': sha(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const withCache = async (tagCacheSeconds: number, run: (ask: (reference: string) => Promise<string>, pt: PullThrough) => Promise<void>) => {
    const config = checkPullThroughConfig('registry', { tagCacheSeconds, upstreams: [{ host, insecure: true }] });
    const pt = new PullThrough({ config, spoolDir: '/nonexistent', publish: () => Promise.reject(new Error('not reached')), log: createLogger({}, 'error') });
    const ask = async (reference: string) => {
      const { body } = await pt.answer({ nodeId: 'n1', attrs: {} }, { repository: 'team/app', reference, blob: false, offset: 0 });
      assert.equal(body.status, 200, body.message);
      return body.digest!;
    };
    try {
      await run(ask, pt);
    } finally {
      await pt.stop();
    }
  };
  try {
    await withCache(600, async (ask, pt) => {
      assert.equal(await ask('v1'), sha(manifest(1)));
      current = manifest(2);
      // Within the cache time the tag is not asked again, so it still names the first manifest.
      assert.equal(await ask('v1'), sha(manifest(1)));
      assert.equal(await ask(sha(manifest(1))), sha(manifest(1)), 'the digest a cached tag named is kept too');
      assert.equal(await ask(sha(manifest(2))), sha(manifest(2)));
      assert.equal(await ask(sha(manifest(2))), sha(manifest(2)));
      assert.deepEqual(pt.upstreamRequests, { tags: 1, manifests: 1, blobs: 0 });
    });
    current = manifest(1);
    await withCache(0, async (ask, pt) => {
      assert.equal(await ask('v1'), sha(manifest(1)));
      current = manifest(2);
      // A cache time of 0: every ask resolves the tag upstream, so a moved tag is seen at once.
      assert.equal(await ask('v1'), sha(manifest(2)));
      assert.deepEqual(pt.upstreamRequests, { tags: 2, manifests: 0, blobs: 0 });
    });
    assert.equal(asked.filter((u) => u.endsWith('/manifests/v1')).length, 3);
  } finally {
    server.close();
  }
});
