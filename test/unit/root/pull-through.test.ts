/** Who may pull through, decided before anything is asked upstream (the upstream here is a closed port: any fetch would fail with 503). */
import assert from 'node:assert/strict';
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
