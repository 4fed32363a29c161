/**
 * Where a simulated swarm's time over the bound goes, second by second. T* is the origin
 * sending the content once at its full rate while every node receives at its full rate, so
 * each second a link is under-used shows up in T. Sampled every `sampleMs` (the rates are
 * constant between events, so a sample is exact for its instant) and averaged per second:
 * the origin's upload in use, the downloaders' upload in use, the download in use of those
 * still downloading, and how many hosts upload nothing or receive nothing (with requests
 * out, or with none: nothing they lack is at a neighbour they may ask). Issue 17 session 14
 * found with it that at 10,000 world nodes the first 6 s run at about half the download
 * links, the middle at 80-87 %, and the origin's own link at 80-95 % in the middle: most of
 * its 32 members had their whole request budget out at peers and asked it nothing.
 */
import type { SwarmSim } from './swarm-sim.js';

export interface TraceRow {
  /** The second this row ends (1 = the first second). */
  second: number;
  /** The origin's upload in use, over its rate. */
  origin: number;
  /** The downloaders' uploads in use, over their rates summed. */
  peersUp: number;
  /** The download links in use of the downloaders not yet complete, over their rates summed. */
  download: number;
  /** Downloaders uploading nothing (mean over the second's samples). */
  idleUploaders: number;
  /** Downloaders not complete and receiving nothing with requests out (queued at an uploader, or on their way). */
  waiting: number;
  /** Downloaders not complete and receiving nothing with nothing asked. */
  nothingAsked: number;
  /** Blocks the origin sends at once (mean). */
  originSends: number;
  /** Downloaders complete at the end of the second. */
  complete: number;
}

type Sums = Omit<TraceRow, 'second' | 'complete'>;

export class SwarmTrace {
  readonly rows: TraceRow[] = [];
  private sums: Sums = zero();
  private samples = 0;

  constructor(
    private readonly sim: SwarmSim,
    private readonly sampleMs = 250,
  ) {}

  /** Starts sampling; rows accumulate while the simulation runs. */
  start(): void {
    this.sim.q.after(this.sampleMs, () => this.sample());
  }

  /** Ends the last (partial) second: call once the simulation has stopped. */
  finish(): void {
    if (this.samples > 0) this.endSecond(this.sim.q.now);
  }

  private sample(): void {
    const { sim } = this;
    const hosts = sim.links.hosts;
    const s = this.sums;
    s.origin += rateOf(hosts[0]!.sending) / hosts[0]!.up;
    s.originSends += hosts[0]!.sending.size;
    let up = 0;
    let upCap = 0;
    let down = 0;
    let downCap = 0;
    for (let i = 1; i < hosts.length; i++) {
      const h = hosts[i]!;
      const sending = rateOf(h.sending);
      up += sending;
      upCap += h.up;
      if (sending <= 0) s.idleUploaders++;
      if (sim.nodes[i]!.doneAt !== undefined) continue;
      down += rateOf(h.receiving);
      downCap += h.down;
      if (h.receiving.size === 0) {
        if (sim.nodes[i]!.pending.size > 0) s.waiting++;
        else s.nothingAsked++;
      }
    }
    s.peersUp += upCap > 0 ? up / upCap : 0;
    s.download += downCap > 0 ? down / downCap : 0;
    this.samples++;
    const now = sim.q.now;
    if (Math.floor(now / 1000) !== Math.floor((now + this.sampleMs) / 1000)) this.endSecond(now);
    sim.q.after(this.sampleMs, () => this.sample());
  }

  private endSecond(now: number): void {
    const n = Math.max(1, this.samples);
    const mean = (x: number) => Math.round((x / n) * 1000) / 1000;
    const s = this.sums;
    const complete = this.sim.nodes.filter((node) => node.doneAt !== undefined).length;
    this.rows.push({ second: Math.ceil(now / 1000), origin: mean(s.origin), peersUp: mean(s.peersUp), download: mean(s.download), idleUploaders: mean(s.idleUploaders), waiting: mean(s.waiting), nothingAsked: mean(s.nothingAsked), originSends: mean(s.originSends), complete });
    this.sums = zero();
    this.samples = 0;
  }
}

function rateOf(transfers: Iterable<{ rate: number }>): number {
  let sum = 0;
  for (const t of transfers) sum += t.rate;
  return sum;
}

function zero(): Sums {
  return { origin: 0, peersUp: 0, download: 0, idleUploaders: 0, waiting: 0, nothingAsked: 0, originSends: 0 };
}
