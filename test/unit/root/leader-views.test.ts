/**
 * The views a leader writes for its hot standbys (src/root/state/leader-views.ts): only what
 * changed is written, what went is deleted, and applying the changes to the last set always
 * gives the new one. The `roots:` line of `canopy status` names the leader and the standbys.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { collectViews, viewChanges } from '../../../src/root/state/leader-views.js';
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
});
