/**
 * A holder's measured delivery rate (issue 17, session 7): blocks sent side by side arrive
 * close together, and averaging per-block rates read the second one's tiny service time as
 * hundreds of times the link's rate (origin 317 MB/s on a 12.5 MB/s link in the simulator),
 * which ranked peers wrongly and hid slow ones. Bytes over service time is the link's pace.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bitfield } from '../../../src/swarm/bitfield.js';
import { PeerState } from '../../../src/swarm/peer-state.js';

const MiB = 2 ** 20;

describe('peer delivery rate', () => {
  it('two blocks sent together at 4 MiB/s each measure about 8 MiB/s, not the gap between their arrivals', () => {
    const p = new PeerState('a', Bitfield.full(4), false);
    // Both asked at 0; they share the link and arrive at 1.00 s and 1.01 s.
    p.inFlight.set(0, 0).set(1, 0);
    p.delivered(4 * MiB, 0, 1_000);
    p.delivered(4 * MiB, 0, 1_010);
    // The older delivery weighs a little less (decay), so a little above 8; averaging rates gave ~126 MiB/s.
    assert.ok(p.measuredRate > 7 * MiB && p.measuredRate < 10 * MiB, `measured ${(p.measuredRate / MiB).toFixed(1)} MiB/s`);
  });

  it('follows a change of pace, recent deliveries weighing most', () => {
    const p = new PeerState('a', Bitfield.full(16), false);
    let t = 0;
    for (let i = 0; i < 6; i++) p.delivered(MiB, t, (t += 100)); // 10 MiB/s
    for (let i = 0; i < 6; i++) p.delivered(MiB, t, (t += 1_000)); // 1 MiB/s
    assert.ok(p.measuredRate < 1.2 * MiB && p.measuredRate >= MiB, `measured ${(p.measuredRate / MiB).toFixed(2)} MiB/s`);
  });
});
