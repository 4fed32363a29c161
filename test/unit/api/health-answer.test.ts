import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, it } from 'node:test';
import { answerHealth } from '../../../src/api/health-answer.js';
import { inject } from '../../../src/http/inject.js';
import { renderPrometheus } from '../../../src/ops/metrics.js';
import { processGauges } from '../../../src/ops/process-metrics.js';

describe('health answered before routing (issue 16, item 10)', () => {
  let ready = { ready: false, catalog: 'syncing' };
  let routed = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (answerHealth(req, res, () => ready)) return;
    routed++;
    res.writeHead(418);
    res.end();
  };

  it('answers GET /healthz and /readyz itself, the router never sees them', async () => {
    const live = await inject(handler, { url: '/healthz' });
    assert.equal(live.status, 200);
    assert.deepEqual(live.json(), { ok: true });
    assert.equal(live.headers['cache-control'], 'no-store');
    const notReady = await inject(handler, { url: '/readyz' });
    assert.equal(notReady.status, 503);
    assert.deepEqual(notReady.json(), { ready: false, catalog: 'syncing' });
    ready = { ready: true, catalog: 'synced' };
    assert.equal((await inject(handler, { url: '/readyz' })).status, 200);
    assert.equal(routed, 0);
  });

  it('leaves anything else to the router', async () => {
    for (const r of [{ url: '/healthz?verbose=1' }, { url: '/healthz', method: 'POST' }, { url: '/api/overview' }]) assert.equal((await inject(handler, r)).status, 418);
    assert.equal(routed, 3);
  });
});

describe('process gauges', () => {
  it('report the memory usage they are given, in bytes', () => {
    const text = renderPrometheus(processGauges({ rss: 5, heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 }));
    for (const [name, value] of [['canopy_process_resident_memory_bytes', 5], ['canopy_process_heap_used_bytes', 1], ['canopy_process_heap_total_bytes', 2], ['canopy_process_external_bytes', 3], ['canopy_process_array_buffers_bytes', 4]] as const) {
      assert.match(text, new RegExp(`^${name} ${value}$`, 'm'));
    }
  });
});
