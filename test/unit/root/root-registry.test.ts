/**
 * The root's list of holders: what a downloader is told to connect to, and whom the origin's
 * rendezvous designates blocks to.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { parseCriteria } from '../../../src/core/criteria.js';
import { RootRegistry } from '../../../src/root/root-registry.js';
import type { PeerConnection } from '../../../src/wire/peer-connection.js';

/** What the registry reads of a member's connection: its proven id and attributes, and its close. */
function conn(id: string, attrs: Record<string, string>): PeerConnection {
  return Object.assign(new EventEmitter(), { remoteId: id, remoteAttrs: attrs }) as unknown as PeerConnection;
}

function member(registry: RootRegistry, id: string): void {
  registry.join(conn(id, { region: 'eu' }), id, { peer: { host: '127.0.0.1', port: 1 }, api: '', http: '' } as never);
}

describe('root registry: candidate holders', () => {
  it('leaves out a member that holds nothing and says its own store refuses blocks (issue 24 item 3)', () => {
    const registry = new RootRegistry();
    for (const id of ['n1', 'n2', 'bad', 'full', 'partial']) member(registry, id);
    registry.report('bad', 'c', 0, 0, 64, { stuck: 'error', stuckDetail: 'no writable volume: EROFS' });
    registry.report('full', 'c', 0, 0, 64, { stuck: 'no-space', stuckDetail: 'no room' });
    // One that already holds blocks still serves them, whatever else it reports.
    registry.report('partial', 'c', 3, 3 * 2 ** 20, 64, { stuck: 'error', stuckDetail: 'EROFS' });
    // Refused by a holder is about others, not its own store: still a downloader.
    registry.report('n2', 'c', 0, 0, 64, { stuck: 'refused', stuckDetail: 'not authorised' });
    const ids = registry.candidateHolders('c', parseCriteria('region=eu')).map((h) => h.nodeId).sort();
    assert.deepEqual(ids, ['n1', 'n2', 'partial']);
    // Back to work (the report clears the reason): listed again.
    registry.report('bad', 'c', 1, 2 ** 20, 64, {});
    assert.ok(registry.candidateHolders('c', parseCriteria('region=eu')).some((h) => h.nodeId === 'bad'));
  });
});
