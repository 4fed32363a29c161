/** Who may pull through, decided before anything is asked upstream (the upstream here is a closed port: any fetch would fail with 503). */
import assert from 'node:assert/strict';
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
