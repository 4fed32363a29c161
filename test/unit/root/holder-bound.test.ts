/**
 * The root's `holders` answer is bounded for a large fleet (src/root/holder-bound.ts): up to
 * 48 downloaders everyone gets everyone; beyond, the origins go only to one origin group,
 * the same for every asker, whose members see each other, and every asker gets a bounded set
 * of neighbours, different per asker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundHolders, COMPLETE_HOLDERS, NEIGHBOURS, ORIGIN_GROUP } from '../../../src/root/holder-bound.js';
import type { Holder } from '../../../src/wire/messages.js';

const C = 'c'.repeat(64);
const holder = (id: string, complete = false): Holder => ({ nodeId: id, peer: { host: '10.0.0.1', port: 7000 }, complete });
const fleet = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);
const ask = (ids: string[], asker: string, extra: Holder[] = []) => boundHolders([...extra, ...ids.filter((id) => id !== asker).map((id) => holder(id))], asker, C, new Set(['origin']));

describe('bounded holders answer', () => {
  it('lists everyone up to 48 downloaders, as before', () => {
    const ids = fleet(40);
    const got = ask(ids, 'n3', [holder('origin', true)]);
    assert.equal(got.length, 40);
    assert.ok(got.every((h) => h.group === undefined));
  });

  it('at 1,000 downloaders: one origin group, the same for all, and a bounded answer for each', () => {
    const ids = fleet(1000);
    const done = Array.from({ length: 20 }, (_, i) => holder(`done${i}`, true));
    const answers = new Map(ids.map((id) => [id, ask(ids, id, [holder('origin', true), ...done])]));
    const withOrigin = ids.filter((id) => answers.get(id)!.some((h) => h.nodeId === 'origin'));
    assert.equal(withOrigin.length, ORIGIN_GROUP, 'the origin is given to the origin group only');
    const group = new Set(withOrigin);
    for (const id of ids) {
      const a = answers.get(id)!;
      assert.ok(a.length <= 1 + COMPLETE_HOLDERS + ORIGIN_GROUP + NEIGHBOURS, `${id} got ${a.length}`);
      assert.ok(a.filter((h) => h.complete && h.nodeId !== 'origin').length === COMPLETE_HOLDERS);
      const members = a.filter((h) => h.group === true).map((h) => h.nodeId);
      // Group members see the rest of the group, and nobody else is marked as a member.
      if (group.has(id)) assert.deepEqual(new Set(members), new Set([...group].filter((g) => g !== id)));
      else assert.deepEqual(members, []);
      assert.equal(a.filter((h) => h.group === false).length, NEIGHBOURS);
      assert.ok(!a.some((h) => h.nodeId === id), 'never itself');
    }
    // Neighbour sets differ per asker (a random graph), and every downloader is someone's neighbour.
    const listed = new Set(ids.flatMap((id) => answers.get(id)!.filter((h) => h.group === false).map((h) => h.nodeId)));
    assert.ok(listed.size > 990, `only ${listed.size} downloaders are anyone's neighbour`);
  });
});
