/**
 * The short soak (issue 25): a root and two nodes as real processes, 100 publish/withdraw
 * cycles driven by the soak bench's own driver (bench/soak.ts). No process may hold more
 * open descriptors after them than after a warm-up, and no process may log a
 * MaxListenersExceededWarning (a listener leak). The long run is `npm run bench -- soak`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Soak } from '../../bench/soak.js';
import { NODE_MALLOC_ENV } from '../../src/demo/local-network.js';
import { tempDir } from '../helpers/cli.js';

const WARM_UP = 10;
const CYCLES = 100;

describe('short soak', () => {
  const dir = tempDir('canopy-soak-');
  const soak = new Soak({ dir: dir.path, durationMs: 10 * 60_000, nodes: 2, publishEveryMs: 0, withdrawAfterMs: 0, restartEveryMs: 0, sampleEveryMs: 5_000, minSize: 64 * 1024, maxSize: 256 * 1024, readers: 0, maxPublishes: WARM_UP });
  after(async () => {
    await soak.network.stop();
    dir.remove();
  });

  it(`leaks no descriptor and no listener over ${CYCLES} publish/withdraw cycles`, async () => {
    await soak.start();
    // Every node starts with glibc's mmap threshold fixed (LocalNetwork's default), unless this environment sets one.
    const threshold = process.env.MALLOC_MMAP_THRESHOLD_ ?? NODE_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_;
    for (const p of soak.processes) assert.ok(readFileSync(`/proc/${p.process.pid}/environ`, 'utf8').split('\0').includes(`MALLOC_MMAP_THRESHOLD_=${threshold}`), `${p.name} runs without MALLOC_MMAP_THRESHOLD_=${threshold}`);
    await soak.run();
    await soak.retire(true);
    const before = await soak.quietDescriptors();
    soak.options.maxPublishes = WARM_UP + CYCLES;
    await soak.run();
    await soak.retire(true);
    const afterCycles = await soak.quietDescriptors();
    // Answers are bounded by the live set (none now) plus one page of history; the pages reach every record.
    type Page = { contents: { contentId: string; state: string }[]; history: { next: string | null; total: number } };
    const first = await soak.network.rootApi.get<Page>('/api/contents');
    assert.equal(first.contents.length, 10);
    assert.equal(first.history.total, WARM_UP + CYCLES);
    const seen = new Set<string>();
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page: Page = await soak.network.rootApi.get<Page>(`/api/contents?state=history&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      for (const c of page.contents) seen.add(c.contentId);
      cursor = page.history.next;
    }
    assert.equal(seen.size, WARM_UP + CYCLES);
    const overview = await soak.network.rootApi.get<{ contents: unknown[] }>('/api/overview');
    assert.equal(overview.contents.length, 10);
    const r = await soak.finish();
    assert.equal(r.publishes, WARM_UP + CYCLES);
    assert.equal(r.withdrawals + r.expiries, WARM_UP + CYCLES);
    for (const [name, fds] of afterCycles) assert.ok(fds <= before.get(name)!, `${name}: ${before.get(name)} descriptors after the warm-up, ${fds} after ${CYCLES} cycles`);
    assert.equal(r.maxListenersWarnings, 0, 'a MaxListenersExceededWarning was logged');
    assert.equal(r.orphanFiles, 0);
  });
});
