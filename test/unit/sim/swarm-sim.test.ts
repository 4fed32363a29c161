/**
 * The swarm simulator: its links obey their rates (a lone downloader finishes at the size
 * over the rate; two uploaders share one download link), and a small swarm driven by the
 * real scheduler completes, never beats the fluid bound, and counts what it spent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Links, type Host, type Transfer } from '../../../src/sim/swarm-links.js';
import { rng } from '../../../src/sim/geography.js';
import { runSwarmScenario } from '../../../src/sim/swarm-scenario.js';
import { SwarmSim } from '../../../src/sim/swarm-sim.js';
import { runCli } from '../../helpers/cli.js';

const MiB = 2 ** 20;
type Result = { completed: number; Tstar: number; ratio: number; originEgressRatio: number; receivedPerKept: number };
const host = (up: number, down: number): Host => ({ up, down, sending: new Set(), receiving: new Set(), queue: [], uploaded: 0 });

describe('swarm simulator', () => {
  it('shares a download link between two uploaders and gives the rest back when one ends', () => {
    const q = new EventQueue();
    const done = new Map<string, number>();
    const links = new Links([host(10e6, 10e6), host(10e6, 10e6), host(10e6, 10e6)], q, (t: Transfer) => done.set(`${t.from}`, q.now), () => undefined);
    links.enqueue(0, 2, 0, 10e6);
    links.enqueue(1, 2, 0, 5e6);
    q.run(Infinity);
    // Both at 5 MB/s until the 5 MB one ends at 1 s; the other has 5 MB left at 10 MB/s: 1.5 s.
    assert.ok(Math.abs(done.get('1')! - 1000) < 1, `small transfer ended at ${done.get('1')}`);
    assert.ok(Math.abs(done.get('0')! - 1500) < 1, `large transfer ended at ${done.get('0')}`);
  });

  it('a relay never runs ahead of the block it relays and ends only once that block has arrived', () => {
    const q = new EventQueue();
    const ends = new Map<string, number>();
    // The origin sends at 5 MB/s; the relaying host could forward at 10 MB/s.
    const links = new Links([host(5e6, 10e6), host(10e6, 10e6), host(10e6, 10e6)], q, (t: Transfer) => {
      ends.set(`${t.from}>${t.to}`, q.now);
      // The source arrives 300 ms after its last byte left (latency and verification).
      if (t.from === 0) q.after(300, () => links.arrived(t));
    }, () => undefined);
    const source = links.enqueue(0, 1, 0, 5e6)!;
    q.after(100, () => links.enqueue(1, 2, 0, 5e6, source));
    q.run(Infinity);
    assert.ok(Math.abs(ends.get('0>1')! - 1000) < 1, `source ended at ${ends.get('0>1')}`);
    // Held to 5 MB/s behind the source, then the last piece waits for the source to arrive.
    assert.ok(Math.abs(ends.get('1>2')! - 1300) < 1, `relay ended at ${ends.get('1>2')}`);
  });

  it('one downloader gets the content in its size over the rate', () => {
    const r = runSwarmScenario({ nodes: 1, size: 16 * MiB, blockSize: MiB, rate: 4 * MiB, placement: 'lan', maxSeconds: 60 }) as unknown as Result;
    assert.equal(r.completed, 1);
    assert.equal(r.Tstar, 4);
    assert.ok(r.ratio >= 1 && r.ratio < 1.02, `T/T* ${r.ratio}`);
    assert.equal(r.originEgressRatio, 1);
    assert.equal(r.receivedPerKept, 1);
  });

  it('a swarm of 12 on the real scheduler completes, no faster than the bound, with the origin sending each block about once', () => {
    const r = runSwarmScenario({ nodes: 12, size: 32 * MiB, blockSize: MiB, rate: 4 * MiB, placement: 'lan', maxSeconds: 600 }) as unknown as Result;
    assert.equal(r.completed, 12);
    assert.ok(r.ratio >= 1, `T/T* ${r.ratio} is below the bound: the links give more than their rate`);
    assert.ok(r.ratio < 2, `T/T* ${r.ratio}`);
    assert.ok(r.originEgressRatio >= 1 && r.originEgressRatio < 2, `origin egress ${r.originEgressRatio}`);
    assert.ok(r.receivedPerKept >= 1 && r.receivedPerKept <= 1.05, `received per kept ${r.receivedPerKept}`);
  });
});

describe('slow nodes do not hold back the fast ones (issue 17, session 7)', () => {
  it('beside two nodes at a quarter rate, the six others finish within 1.55x their own bound, the slow ones within 1.1x theirs, and the origin sends each block about once', () => {
    // Before: the origin's four upload slots were held by the slow nodes' requests (its link
    // 40-60 % busy) and rates measured from blocks sent side by side read hundreds of MB/s:
    // the fast nodes took 1.64-1.76x their own bound (seeds 1-3; 2.1-2.3x before the
    // simulator shared a download link max-min fair); 1.31-1.49x with both mended. The origin
    // sent 1.09-1.14 copies of the content while it gave slow nodes first copies too (session 9:
    // it declines them, first-copy.ts).
    for (const seed of [1, 2, 3]) {
      const r = runSwarmScenario({ nodes: 8, slow: 2, placement: 'lan', seed, maxSeconds: 600 }) as unknown as Result & { fastWorstOwnRatio: number; slowWorstOwnRatio: number };
      assert.equal(r.completed, 8);
      assert.ok(r.fastWorstOwnRatio < 1.55, `seed ${seed}: fast nodes at ${r.fastWorstOwnRatio}x their own bound`);
      assert.ok(r.slowWorstOwnRatio < 1.1, `seed ${seed}: slow nodes at ${r.slowWorstOwnRatio}x their own bound`);
      assert.ok(r.receivedPerKept <= 1.03, `seed ${seed}: received per kept ${r.receivedPerKept}`);
      assert.ok(r.originEgressRatio <= 1.05, `seed ${seed}: origin egress ${r.originEgressRatio}`);
    }
  });

  it('at 128 MiB (32 blocks) too: the fast nodes within 1.85x their own bound (session 8)', () => {
    // Before: rendezvous scores (FNV-1a alone) designated one slow node up to 15 of 32 blocks, and
    // at the start the slow nodes held all four of the origin's slots: fast nodes 2.04-2.13x (seeds 1-3).
    for (const seed of [1, 2, 3]) {
      const r = runSwarmScenario({ nodes: 8, slow: 2, placement: 'lan', size: 128 * 2 ** 20, seed, maxSeconds: 600 }) as unknown as Result & { fastWorstOwnRatio: number; slowWorstOwnRatio: number };
      assert.equal(r.completed, 8);
      assert.ok(r.fastWorstOwnRatio < 1.85, `seed ${seed}: fast nodes at ${r.fastWorstOwnRatio}x their own bound`);
      assert.ok(r.slowWorstOwnRatio < 1.1, `seed ${seed}: slow nodes at ${r.slowWorstOwnRatio}x their own bound`);
      // Session 13: 1.094, 1.188, 1.031 before (two fast nodes asking for one block before the
      // origin's first send of it began; slow owners taking their own blocks at the end).
      assert.ok(r.originEgressRatio <= 1.01, `seed ${seed}: origin egress ${r.originEgressRatio}`);
    }
  });
});

describe('the first-copy rule with two downloaders (issue 17, sessions 10 and 11)', () => {
  it('changes nothing: with two downloaders the median pace is one of them, so nobody is declined', () => {
    // `npm run bench -- distribute`'s shape: an origin that is not the limit, two downloaders,
    // the second draining at 0.4 of the first's pace. Session 9's rule declined the second its
    // blocks and both waited out the 30 s retry (the first finished at 47.8 s against 35.2 s
    // without the rule); session 10's handed them to the first (14.9 s), which over loopback,
    // where the slower is only the one the host ran less, cost the bench 1.75x a round. The
    // rule now declines only among three or more downloaders (first-copy.ts).
    const finish = (rule: boolean) => {
      const rate = 12.5e6;
      const dc = { x: 0, y: 0, attrs: {} };
      const specs = [
        { up: 8 * rate, down: 8 * rate, place: dc, neighbours: [1, 2] },
        { up: rate, down: rate, place: dc, neighbours: [0, 2] },
        { up: rate, down: 0.4 * rate, place: dc, neighbours: [0, 1] },
      ];
      const sim = new SwarmSim(specs, 256 * MiB, 4 * MiB, [1, 2], rng(1), undefined, undefined, undefined, true, true, rule);
      sim.run(600_000);
      return { fast: sim.nodes[1]!.doneAt!, slow: sim.nodes[2]!.doneAt!, egress: sim.links.hosts[0]!.uploaded / (256 * MiB) };
    };
    assert.deepEqual(finish(true), finish(false));
  });
});

describe('canopy sim swarm (the command)', () => {
  it('prints one JSON line with the bound and the costs, and refuses a bad placement with a usage error', async () => {
    const ok = await runCli(['sim', 'swarm', '--nodes', '4', '--size', '8MiB', '--block-size', '1MiB', '--placement', 'lan', '--json'], { timeoutMs: 60_000 });
    assert.equal(ok.code, 0, ok.stderr);
    const r = JSON.parse(ok.stdout.trim().split('\n').at(-1)!) as Result & { nodes: number; messagesPerNodePerSecond: { median: number } };
    assert.equal(r.nodes, 4);
    assert.equal(r.completed, 4);
    assert.ok(r.ratio >= 1 && r.messagesPerNodePerSecond.median > 0);
    const bad = await runCli(['sim', 'swarm', '--placement', 'moon'], { timeoutMs: 30_000 });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /placement/);
  });
});
