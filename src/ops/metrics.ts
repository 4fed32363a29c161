/**
 * Counters and gauges in the Prometheus text exposition format (version 0.0.4). Counters
 * are bumped where bytes move; gauges are read at scrape time from the components that own
 * the numbers (store, registry), so a scrape never shows a value that is out of date.
 */
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Sample[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return `${out.join('\n')}\n`;
}

const COUNTERS = {
  canopy_bytes_in_total: 'Bytes received, by peer class (peer: from other nodes; publish: uploads from publishers).',
  canopy_bytes_out_total: 'Bytes sent, by peer class (peer: blocks to other nodes; http: edge responses to external clients).',
  canopy_blocks_served_total: 'Blocks sent to other nodes.',
  canopy_blocks_received_total: 'Blocks received and verified, by peer class.',
  canopy_swarm_relayed_bytes_total: 'Block bytes sent to peers while the block was still arriving here (cut-through relay, before this node had verified it).',
  canopy_swarm_block_bytes_total: 'Block bytes the swarm received from peers, by outcome (kept; duplicate: another copy was kept first; corrupt).',
  canopy_http_requests_total: 'Requests answered by the HTTP edge, by status class.',
  canopy_cache_requests_total: 'Block reads of the edge servers from the shared cache of verified blocks, by result (hit, miss).',
} as const;

export type CounterName = keyof typeof COUNTERS;

/** The counters of one node; gauges are supplied by a callback at scrape time. */
export class Metrics {
  private readonly counters = new Map<CounterName, Map<string, Sample>>();

  inc(name: CounterName, labels: Labels = {}, by = 1): void {
    let family = this.counters.get(name);
    if (!family) this.counters.set(name, (family = new Map()));
    const key = labelText(labels);
    const sample = family.get(key);
    if (sample) sample.value += by;
    else family.set(key, { labels, value: by });
  }

  get(name: CounterName, labels: Labels = {}): number {
    return this.counters.get(name)?.get(labelText(labels))?.value ?? 0;
  }

  families(): MetricFamily[] {
    return (Object.keys(COUNTERS) as CounterName[]).map((name) => ({ name, help: COUNTERS[name], type: 'counter', samples: [...(this.counters.get(name)?.values() ?? [])] }));
  }
}
