/**
 * The views a leader writes for its hot standbys (src/root/state/leader-views.ts): only what
 * changed is written, what went is deleted, and applying the changes to the last set always
 * gives the new one; only the views whose inputs changed (or that went stale) are recomputed,
 * and a costly round spaces the next one out. The `roots:` line of `canopy status` names the leader and the standbys.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { collectViews, LeaderViews, viewChanges, type LeaderViewSource } from '../../../src/root/state/leader-views.js';
import { nextRoundDelay, VIEW_STALE_MS, ViewSchedule } from '../../../src/root/state/view-schedule.js';
import { formatRoots } from '../../../src/cli/roots-line.js';

const viewSet = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 })).map((d) => new Map(Object.entries(d)));

describe('leader views', () => {
  it('writes exactly what changed and deletes what went: applied to the last set, the new set results', () => {
    fc.assert(
      fc.property(viewSet, viewSet, (last, now) => {
        const { changed, gone } = viewChanges(last, now);
        const applied = new Map(last);
        for (const name of gone) applied.delete(name);
        for (const [name, json] of changed) applied.set(name, json);
        assert.deepEqual(applied, now);
        for (const [name, json] of changed) assert.notEqual(last.get(name), json, 'an unchanged view is not rewritten');
      }),
    );
  });

  it('collects nodes, tree and one status per content; a content retired meanwhile is left out', () => {
    const views = collectViews({
      nodes: () => ({ nodes: [{ name: 'a' }] }),
      tree: () => ({ attached: true }),
      contents: () => ['c1', 'gone'],
      status: (id) => {
        if (id === 'gone') throw new Error('retired');
        return { contentId: id };
      },
      watch: () => undefined,
    });
    assert.deepEqual([...views.keys()], ['nodes', 'tree', 'status:c1']);
    assert.equal(views.get('status:c1'), '{"contentId":"c1"}');
  });

  it('names the leader, its fence and the standbys with when they were seen', () => {
    const line = formatRoots({
      role: 'standby',
      self: 'b',
      fence: 3,
      leader: { holder: 'a', api: 'http://10.0.0.1:7401' },
      roots: [
        { holder: 'a', api: 'http://10.0.0.1:7401', role: 'leader', seenSecondsAgo: 0.2 },
        { holder: 'b', api: 'http://10.0.0.2:7401', role: 'standby', seenSecondsAgo: 0.4 },
        { holder: 'c', peer: '10.0.0.3:7400', role: 'standby', seenSecondsAgo: 31 },
      ],
    });
    assert.equal(line, 'roots: leader http://10.0.0.1:7401 (fence 3); standby http://10.0.0.2:7401 (seen 0.4 s ago), 10.0.0.3:7400 (seen 31 s ago)');
    assert.equal(formatRoots({ role: 'standby', self: 'b', fence: 0, leader: null }), 'roots: no root leads right now; no standby');
  });
  it('recomputes exactly the views touched since they were computed, the new ones and the stale ones', () => {
    const names = ['nodes', 'tree', 'status:a', 'status:b', 'status:c'];
    const op = fc.oneof(
      fc.record({ touch: fc.constantFrom(...names, undefined) }),
      fc.record({ wait: fc.integer({ min: 0, max: VIEW_STALE_MS }) }),
      fc.record({ round: fc.subarray(names, { minLength: 1 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new ViewSchedule();
        // The model: per view, whether an event reached it since it was computed, and when it was.
        const dirty = new Set<string>();
        const at = new Map<string, number>();
        let now = 0;
        for (const o of ops) {
          if ('touch' in o) {
            s.touch(o.touch);
            for (const n of o.touch === undefined ? names : [o.touch]) dirty.add(n);
          } else if ('wait' in o) now += o.wait;
          else {
            const want = o.round.filter((n) => !at.has(n) || dirty.has(n) || now - at.get(n)! >= VIEW_STALE_MS);
            const due = s.due(o.round, now);
            assert.deepEqual(due, want);
            for (const n of due) {
              s.done(n, now);
              dirty.delete(n);
              at.set(n, now);
            }
            // Listed once more at once, nothing is due.
            assert.deepEqual(s.due(due, now), []);
          }
        }
      }),
    );
  });

  it('spaces a costly round out so that the views keep to a tenth of the event loop', () => {
    assert.equal(nextRoundDelay(2_000, 10), 2_000);
    fc.assert(fc.property(fc.integer({ min: 0, max: 60_000 }), (busy) => assert.ok(busy / (busy + nextRoundDelay(2_000, busy)) <= 0.1 + 1e-9)));
  });

  it('computes only what changed: a report recomputes its content status alone, a join every view, unchanged text is not rewritten', async () => {
    let watcher: (id: string | undefined) => void = () => undefined;
    const computed: string[] = [];
    const statuses = new Map([['a', 1], ['b', 1]]);
    const source: LeaderViewSource = {
      nodes: () => (computed.push('nodes'), { n: 1 }),
      tree: () => (computed.push('tree'), {}),
      contents: () => [...statuses.keys()],
      status: (id) => (computed.push(id), { id, v: statuses.get(id) }),
      watch: (w) => (watcher = w),
    };
    const written: string[][] = [];
    const cleared: string[][] = [];
    const sink = { putViews: (changed: [string, string][], gone: string[]) => written.push([...changed.map(([n]) => n), ...gone.map((g) => `-${g}`)]), clearViewsExcept: (names: string[]) => cleared.push(names) };
    const now = 0;
    const views = new LeaderViews(sink, source, () => true, () => now);
    await views.round();
    assert.deepEqual(computed.splice(0), ['nodes', 'tree', 'a', 'b']);
    assert.deepEqual(written.splice(0), [['nodes', 'tree', 'status:a', 'status:b']]);
    assert.deepEqual(cleared, [['nodes', 'tree', 'status:a', 'status:b']], 'the first round clears the views of an earlier leader');
    await views.round();
    assert.deepEqual(computed.splice(0), [], 'nothing changed: nothing computed');
    watcher('a');
    await views.round();
    assert.deepEqual(computed.splice(0), ['a']);
    assert.deepEqual(written.splice(0), [], 'the same text is not written again');
    statuses.set('b', 2);
    watcher('b');
    await views.round();
    assert.deepEqual(computed.splice(0), ['b']);
    assert.deepEqual(written.splice(0), [['status:b']]);
    watcher(undefined);
    statuses.delete('a');
    await views.round();
    assert.deepEqual(computed.splice(0), ['nodes', 'tree', 'b']);
    assert.deepEqual(written.splice(0), [['-status:a']], 'the view of a retired content is deleted');
    assert.equal(cleared.length, 1);
  });

  it('a leader that stops leading in the middle of a round writes nothing', async () => {
    let leads = true;
    const source: LeaderViewSource = { nodes: () => ((leads = false), {}), tree: () => ({}), contents: () => ['a'], status: () => ({}), watch: () => undefined };
    const written: unknown[] = [];
    const views = new LeaderViews({ putViews: (c) => written.push(c), clearViewsExcept: (n) => written.push(n) }, source, () => leads);
    assert.deepEqual(await views.round(), { changed: [], gone: [] });
    assert.deepEqual(written, []);
  });
});
