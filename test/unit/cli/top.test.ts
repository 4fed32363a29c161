/** `canopy top` marks withdrawn and expired contents with their state and version (issue 24). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTop, type OverviewView } from '../../../src/cli/commands/top.js';
import { RateTracker } from '../../../src/cli/rates.js';

describe('canopy top', () => {
  it('shows version and state, live contents first, and says how much history is not shown', () => {
    const store = { volumes: [{ id: 'v0', bytes: 0 }], bytes: 0 };
    const nodes = [{ qualified: true, haveBytes: 100, complete: true }];
    const o: OverviewView = {
      at: 1_000,
      root: { name: 'root', api: 'http://127.0.0.1:7401', store },
      nodes: [],
      contents: [
        { contentId: 'a'.repeat(64), name: 'build.bin', size: 100, criteria: '*', state: 'withdrawn', version: 1, versions: 2, nodes },
        { contentId: 'b'.repeat(64), name: 'build.bin', size: 100, criteria: '*', state: 'live', version: 2, versions: 2, nodes },
      ],
      history: { next: 'x', total: 5 },
      uploads: [],
    };
    const lines = formatTop(o, new RateTracker());
    const live = lines.findIndex((l) => /build\.bin\s+v2\/2\s+live/.test(l));
    const gone = lines.findIndex((l) => /build\.bin\s+v1\/2\s+withdrawn.*out of service/.test(l));
    assert.ok(live > 0 && gone > live, lines.join('\n'));
    assert.match(lines.join('\n'), /4 older withdrawn or expired contents/);
  });

  it('says that the root leads, and with which fencing number, when roots share a database', () => {
    const store = { volumes: [{ id: 'v0', bytes: 0 }], bytes: 0 };
    const o: OverviewView = { at: 1_000, root: { name: 'root-b', api: 'http://127.0.0.1:7401', store, leader: { role: 'leader', fence: 7 } }, nodes: [], contents: [], history: { next: null, total: 0 }, uploads: [] };
    assert.match(formatTop(o, new RateTracker()).join('\n'), /root-b \(root\)\s+leader, fence 7\s+up/);
    assert.doesNotMatch(formatTop({ ...o, root: { ...o.root, leader: undefined } }, new RateTracker()).join('\n'), /fence/);
  });
});
