/** Operations routes: liveness, Prometheus metrics, and the OpenAPI description of the API. */
import type { MetricFamily } from '../ops/metrics.js';
import { renderPrometheus } from '../ops/metrics.js';
import { processGauges } from '../ops/process-metrics.js';
import { writeHealth } from './health-answer.js';
import { openApiDocument, type Route } from './router.js';
import { Ok } from './schemas.js';

export interface OpsRoutesDeps {
  metrics: () => MetricFamily[];
  /** Every route of the API, for the description (read when asked, so late modules appear). */
  routes: () => readonly Route[];
  version: string;
  /** Readiness (src/ops/readiness.ts): 200 when ready, 503 with the same body when not. */
  ready: () => { ready: boolean };
}

export function opsRoutes(deps: OpsRoutesDeps): Route[] {
  const tag = 'operations';
  return [
    { method: 'GET', path: '/healthz', tag, summary: 'Liveness: 200 {"ok":true} while the process serves requests', response: Ok, handler: () => ({ ok: true }) },
    {
      method: 'GET',
      path: '/readyz',
      tag,
      summary: 'Readiness: 200 once the catalog is synced from the root and a block volume is usable, else 503; the body says which',
      handler: ({ res }) => {
        const r = deps.ready();
        writeHealth(res, r.ready ? 200 : 503, JSON.stringify(r));
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      tag,
      summary: 'Prometheus metrics: bytes in/out per peer class, blocks served, store usage per volume, tree size, distribution progress',
      handler: ({ res }) => {
        const text = renderPrometheus([...deps.metrics(), ...processGauges()]);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(text);
      },
    },
    { method: 'GET', path: '/openapi.json', tag, summary: 'This description (OpenAPI 3.1)', handler: () => openApiDocument(deps.routes(), { title: 'Canopy node admin API', version: deps.version }) },
  ];
}
