/**
 * A simulated network of tree cores: each node is a real TreeNode; messages arrive after
 * the one-way latency between the two places (optionally dropped with a given
 * probability), probes answer after the round trip (or a timeout when the target is dead),
 * and every live node gets a timer tick every `tickMs`. Nothing here decides anything the
 * core would decide in a real node.
 */
import { DictionaryLog } from '../tree/attribute-dictionary.js';
import type { TreeAction, TreeEvent, TreeOptions } from '../tree/tree-events.js';
import type { NodeRef, TreeMessage } from '../tree/tree-messages.js';
import { TreeNode } from '../tree/tree-node.js';
import { EventQueue } from './event-queue.js';
import { Geography, latency, rng, type Place } from './geography.js';

export interface SimNode {
  readonly index: number;
  readonly ref: NodeRef;
  readonly place: Place;
  readonly core: TreeNode;
  alive: boolean;
  started: boolean;
  placedAt: number | undefined;
}

export interface SimOptions {
  nodes: number;
  seed: number;
  /** Probability that any one message is lost. */
  loss: number;
  tickMs: number;
  probeTimeoutMs: number;
  tree: Partial<TreeOptions>;
}

export interface SimHooks {
  deliver?: (node: SimNode, action: Extract<TreeAction, { type: 'deliver' }>) => void;
  counted?: (node: SimNode, action: Extract<TreeAction, { type: 'counted' }>) => void;
}

export class SimTree {
  readonly q = new EventQueue();
  readonly nodes: SimNode[] = [];
  readonly rand: () => number;
  messages = 0;
  /** Round-trip probes (each is a ping and its answer on the wire). */
  probes = 0;
  readonly byKind: Record<string, number> = {};
  hooks: SimHooks = {};
  private readonly byId = new Map<string, SimNode>();

  constructor(readonly options: SimOptions) {
    this.rand = rng(options.seed);
    const geo = new Geography(this.rand);
    const log = new DictionaryLog();
    const rootRef: NodeRef = { id: 'n0', addr: 'n0' };
    for (let i = 0; i < options.nodes; i++) {
      const ref: NodeRef = { id: `n${i}`, addr: `n${i}` };
      const place = geo.place();
      const core = new TreeNode({ self: ref, attrs: place.attrs, root: rootRef, options: options.tree, dictionaryLog: log });
      const node: SimNode = { index: i, ref, place, core, alive: true, started: false, placedAt: undefined };
      this.nodes.push(node);
      this.byId.set(ref.id, node);
    }
    this.scheduleTick();
  }

  get root(): SimNode {
    return this.nodes[0]!;
  }

  node(id: string): SimNode {
    return this.byId.get(id)!;
  }

  start(node: SimNode, at: number): void {
    this.q.at(at, () => {
      node.started = true;
      if (node.core.isRoot) node.placedAt = this.q.now;
      this.handle(node, { type: 'start', now: this.q.now });
    });
  }

  /**
   * Delivers a message sent earlier. The event object is made on arrival, not when sent: what
   * waits in the queue is only what the sender already allocated, so less survives the young
   * generation (garbage collection was a quarter of the run).
   */
  private readonly arriveMessage = (to: SimNode, from: SimNode, msg: TreeMessage): void => {
    this.handle(to, { type: 'message', now: this.q.now, from: from.ref, msg });
  };

  /** Answers a probe once its slowest answer (or the timeout) is in: targets alive now answer with their RTT. */
  private readonly arriveProbe = (node: SimNode, targets: readonly NodeRef[]): void => {
    if (!node.alive) return;
    const rtts = new Map<string, number | null>();
    for (const t of targets) {
      const target = this.byId.get(t.id);
      rtts.set(t.id, target?.alive ? 2 * latency(node.place, target.place) : null);
    }
    this.handle(node, { type: 'probed', now: this.q.now, rtts });
  };

  kill(node: SimNode): void {
    node.alive = false;
  }

  handle(node: SimNode, event: TreeEvent): void {
    if (!node.alive) return;
    this.exec(node, node.core.handle(event));
  }

  private exec(node: SimNode, actions: TreeAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send': {
          this.messages++;
          this.byKind[a.msg.k] = (this.byKind[a.msg.k] ?? 0) + 1;
          if (this.options.loss > 0 && this.rand() < this.options.loss) break;
          const to = this.byId.get(a.to.id);
          if (!to) break;
          this.q.after(latency(node.place, to.place), this.arriveMessage, to, node, a.msg);
          break;
        }
        case 'probe': {
          let wait = 0;
          for (const t of a.targets) {
            const target = this.byId.get(t.id);
            wait = Math.max(wait, target?.alive ? 2 * latency(node.place, target.place) : this.options.probeTimeoutMs);
          }
          this.probes += a.targets.length;
          this.q.after(wait, this.arriveProbe, node, a.targets);
          break;
        }
        case 'placed':
          node.placedAt ??= this.q.now;
          break;
        case 'deliver':
          this.hooks.deliver?.(node, a);
          break;
        case 'counted':
          this.hooks.counted?.(node, a);
          break;
        default:
          break;
      }
    }
  }

  private scheduleTick(): void {
    this.q.after(this.options.tickMs, () => {
      const tick: TreeEvent = { type: 'tick', now: this.q.now };
      for (const n of this.nodes) if (n.started && n.alive) this.exec(n, n.core.handle(tick));
      this.scheduleTick();
    });
  }
}
