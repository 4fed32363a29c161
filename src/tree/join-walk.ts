/**
 * Placing a node in the tree. A new node asks the root (`join`); an orphan probes its
 * ancestors and starts at the deepest one still alive. At each step the node learns the
 * current node's children, measures the round-trip time to them, and either descends to
 * the nearest child (when that child is clearly nearer than the current node, or the
 * current node is full) or asks the current node to adopt it. The result: a parent with room, the
 * nearest among those on the way, and orphans re-attach low in their old branch so the
 * rest of the tree is not disturbed. Any step that gets no answer in time starts over.
 */
import type { NodeRef, TreeMessage } from './tree-messages.js';

export interface WalkContext {
  readonly self: NodeRef;
  send(to: NodeRef, msg: TreeMessage): void;
  probe(targets: NodeRef[]): void;
  /** The join message (fresh node) and the adopt message (with rollup and flood digest). */
  joinMessage(): TreeMessage;
  adoptMessage(): TreeMessage;
}

/** Descend past a parent with room only to a child at most half as far and at least 2 ms nearer. */
export const DESCEND_RATIO = 0.5;
export const DESCEND_MIN_GAIN_MS = 2;
const DESCEND_MIN_GAIN_US = DESCEND_MIN_GAIN_MS * 1000;

type State =
  | { s: 'idle' }
  | { s: 'ancestors'; deadline: number }
  | { s: 'asking'; at: NodeRef; deadline: number }
  | { s: 'probing'; at: NodeRef; children: NodeRef[]; room: boolean; deadline: number }
  | { s: 'adopting'; at: NodeRef; deadline: number };

export class JoinWalk {
  private state: State = { s: 'idle' };
  /**
   * Measured round-trip times in whole microseconds (what performance.now() resolves anyway):
   * small integers are stored unboxed, where a fractional millisecond value would be a heap
   * object per probe (about 140 per walk at 100,000 nodes).
   */
  private readonly rtt = new Map<string, number>();
  private ancestors: NodeRef[] = [];
  /** Steps taken, for the simulator's figures. */
  steps = 0;

  constructor(
    private readonly ctx: WalkContext,
    private readonly root: NodeRef,
    private readonly timeoutMs: number,
  ) {}

  get active(): boolean {
    return this.state.s !== 'idle';
  }

  /** Starts placing this node; `ancestors` (root first) for an orphan, empty for a new node. */
  begin(ancestors: NodeRef[], now: number): void {
    this.rtt.clear();
    this.ancestors = ancestors.filter((a) => a.id !== this.ctx.self.id);
    if (this.ancestors.length === 0) {
      this.ask(this.root, now, true);
      return;
    }
    this.state = { s: 'ancestors', deadline: now + this.timeoutMs };
    this.ctx.probe(this.ancestors);
  }

  stop(): void {
    this.state = { s: 'idle' };
  }

  onProbed(rtts: ReadonlyMap<string, number | null>, now: number): void {
    for (const [id, r] of rtts) if (r !== null) this.rtt.set(id, Math.round(r * 1000));
    const st = this.state;
    if (st.s === 'ancestors') {
      const live = this.ancestors.filter((a) => rtts.get(a.id) != null);
      const start = live[live.length - 1];
      if (start) this.ask(start, now, false);
      else this.ask(this.root, now, true);
    } else if (st.s === 'probing') {
      this.decide(st.at, st.children, st.room, now);
    }
  }

  /** `info` or `refused` from the node we asked. */
  onInfo(from: NodeRef, children: NodeRef[], room: boolean, cycle: boolean, now: number): void {
    const st = this.state;
    if ((st.s !== 'asking' && st.s !== 'adopting') || st.at.id !== from.id) return;
    if (cycle) {
      this.ask(this.root, now, true);
      return;
    }
    const fresh = children.filter((c) => c.id !== this.ctx.self.id);
    const here = this.rtt.get(from.id);
    if (room && here !== undefined && here <= DESCEND_MIN_GAIN_US) {
      // No child can be 2 ms nearer than a node this close: the decision is made, skip probing.
      this.adopt(from, now);
      return;
    }
    this.state = { s: 'probing', at: from, children: fresh, room, deadline: now + this.timeoutMs };
    const unknown = [from, ...fresh].filter((c) => !this.rtt.has(c.id));
    if (unknown.length > 0) this.ctx.probe(unknown);
    else this.decide(from, fresh, room, now);
  }

  /** Returns true when the adoption answers our request (the walk is over). */
  onAdopted(from: NodeRef): boolean {
    const st = this.state;
    if (st.s !== 'adopting' || st.at.id !== from.id) return false;
    this.state = { s: 'idle' };
    this.rtt.clear();
    return true;
  }

  tick(now: number): void {
    const st = this.state;
    if (st.s !== 'idle' && now >= st.deadline) this.begin(this.ancestors, now);
  }

  private adopt(at: NodeRef, now: number): void {
    this.state = { s: 'adopting', at, deadline: now + this.timeoutMs };
    this.ctx.send(at, this.ctx.adoptMessage());
  }

  private ask(at: NodeRef, now: number, viaJoin: boolean): void {
    this.steps++;
    this.state = { s: 'asking', at, deadline: now + this.timeoutMs };
    this.ctx.send(at, viaJoin ? this.ctx.joinMessage() : { k: 'walk', self: this.ctx.self });
  }

  private decide(at: NodeRef, children: NodeRef[], room: boolean, now: number): void {
    const here = this.rtt.get(at.id) ?? Infinity;
    let best: NodeRef | undefined;
    for (const c of children) {
      const r = this.rtt.get(c.id);
      if (r !== undefined && (best === undefined || r < this.rtt.get(best.id)!)) best = c;
    }
    // A child must be clearly nearer to be worth descending past a parent with room: without
    // the margin, nodes a few hundred microseconds apart stack into long chains.
    const nearer = best !== undefined && this.rtt.get(best.id)! < here * DESCEND_RATIO && here - this.rtt.get(best.id)! > DESCEND_MIN_GAIN_US;
    if (room && !nearer && here !== Infinity) {
      this.adopt(at, now);
    } else if (best) {
      this.ask(best, now, false);
    } else {
      this.begin(this.ancestors, now);
    }
  }
}
