/**
 * Holdings members report, saved to PostgreSQL for the next leader (issue 18 item 2). A
 * member reports every 200 ms per content while it downloads: a write per report would put
 * thousands of writes a second on the database and on the write queue the lease's fenced
 * writes share. So reports only mark a (content, node) pair dirty; every SAVE_EVERY_MS the
 * leader writes the dirty pairs' latest reports in batches of BATCH_ROWS (one upsert each,
 * in the fenced write queue), and deletes the rows of contents forgotten (withdrawn,
 * expired). The lease renewal has its own connection and never waits for these. What a
 * kill can lose is the last second of progress, which the members re-report anyway.
 */
import type { RootRegistry, SavedHolding } from '../root-registry.js';

export const SAVE_EVERY_MS = 1_000;
export const BATCH_ROWS = 2_000;

export interface HoldingsSink {
  putHoldings(rows: readonly SavedHolding[], forgotten: readonly string[]): void;
  loadHoldings(): Promise<SavedHolding[]>;
}

export class HoldingsSaver {
  private readonly dirty = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: RootRegistry,
    private readonly sink: HoldingsSink,
    private readonly leads: () => boolean,
  ) {
    registry.onChange((contentId, nodeId) => {
      if (contentId === undefined) return;
      let nodes = this.dirty.get(contentId);
      if (!nodes) this.dirty.set(contentId, (nodes = new Set()));
      if (nodeId !== undefined) nodes.add(nodeId);
    });
  }

  /** Writes what changed since the last save (nothing unless this root leads). */
  save(): void {
    if (!this.leads() || this.dirty.size === 0) return;
    const rows: SavedHolding[] = [];
    const forgotten: string[] = [];
    for (const [contentId, nodes] of this.dirty) {
      if (!this.registry.holdingsOf(contentId)) forgotten.push(contentId);
      for (const nodeId of nodes) {
        const row = this.registry.saved(contentId, nodeId);
        if (row) rows.push(row);
      }
    }
    this.dirty.clear();
    this.sink.putHoldings(rows.slice(0, BATCH_ROWS), forgotten);
    for (let i = BATCH_ROWS; i < rows.length; i += BATCH_ROWS) this.sink.putHoldings(rows.slice(i, i + BATCH_ROWS), []);
  }

  start(): void {
    this.timer = setInterval(() => this.save(), SAVE_EVERY_MS);
    this.timer.unref();
  }

  /** Saves what waits (a clean stop), then no more. */
  stop(): void {
    clearInterval(this.timer);
    this.save();
  }
}

/**
 * A new leader's start: restores what the last leader saved of live contents, then saves from
 * now on; returns the stop function. Rows of a content no longer live (withdrawn or expired
 * just before the old leader died, its deletion not yet written) are deleted, not restored.
 */
export async function startHoldings(sink: HoldingsSink, registry: RootRegistry, leads: () => boolean, isLive: (contentId: string) => boolean): Promise<() => void> {
  const rows = await sink.loadHoldings();
  registry.restore(rows.filter((r) => isLive(r.contentId)));
  const gone = [...new Set(rows.filter((r) => !isLive(r.contentId)).map((r) => r.contentId))];
  if (gone.length > 0 && leads()) sink.putHoldings([], gone);
  const saver = new HoldingsSaver(registry, sink, leads);
  saver.start();
  return () => saver.stop();
}
