/**
 * The control-tree core of one node: events in, actions out, no I/O and no clock of its
 * own (time comes in every event). The same class runs inside `canopy node` over the peer
 * wire and, by the hundred thousand, inside `canopy sim tree`.
 *
 * It owns membership (parent, children, path to the root), the node's bitmap and the copy
 * of the attribute dictionary; it hands placement to JoinWalk, the subtree rollup to
 * SubtreeRollup, what goes up and down each tick to Heartbeats, failure detection to
 * FailureWatch, floods to Flooder and targeted messages and counts to Router.
 */
import type { Attributes } from '../core/attributes.js';
import { Flooder } from '../gossip/flood.js';
import { Retransmitter } from '../gossip/retransmitter.js';
import { AttributeDictionary, UNKNOWN_BIT, type DictionaryLog } from './attribute-dictionary.js';
import { hasBit, type Bitmap } from './bitmap.js';
import { FailureWatch } from './failure-watch.js';
import { Heartbeats } from './heartbeats.js';
import { JoinWalk } from './join-walk.js';
import type { Liveness } from './liveness.js';
import { mayHold, sameRollup, type Rollup } from './rollup.js';
import { Router } from './router.js';
import { SubtreeRollup } from './subtree-rollup.js';
import type { Child } from './tree-child.js';
import { DEFAULT_TREE_OPTIONS, type TreeAction, type TreeEvent, type TreeOptions } from './tree-events.js';
import type { NodeRef, TreeMessage } from './tree-messages.js';

/** How many silent children a node remembers (see `silent`). */
const MAX_SILENT = 4096;

export interface TreeNodeInit {
  self: NodeRef;
  attrs: Attributes;
  /** The root's reference; equal to `self` on the root. */
  root: NodeRef;
  options?: Partial<TreeOptions>;
  /** Shared dictionary storage (the simulator); each node has its own by default. */
  dictionaryLog?: DictionaryLog;
}

export class TreeNode {
  readonly self: NodeRef;
  readonly isRoot: boolean;
  readonly options: TreeOptions;
  readonly dict: AttributeDictionary;
  readonly flood: Flooder;
  readonly router: Router;
  /** Acknowledged delivery of floods and routed messages to neighbours. */
  readonly links: Retransmitter<TreeMessage>;
  private readonly walk: JoinWalk;
  private attrs: Attributes;
  private bitmap: Bitmap;
  private parent: { ref: NodeRef; live: Liveness } | null = null;
  private path: NodeRef[] = [];
  private readonly kids = new Map<string, Child>();
  /**
   * Children dropped for silence and not heard from since. The id filter gives each node one
   * bit of 256, so another member's bit can keep a dropped child looking present (1-2 % of
   * small trees); a child we dropped ourselves is known to be gone until it speaks again.
   */
  private readonly silent = new Set<string>();
  private readonly rollup: SubtreeRollup;
  private readonly beats: Heartbeats;
  private readonly watch: FailureWatch;
  private placed = false;
  private out: TreeAction[] = [];

  constructor(init: TreeNodeInit) {
    this.self = init.self;
    this.isRoot = init.root.id === init.self.id;
    this.options = { ...DEFAULT_TREE_OPTIONS, ...init.options };
    this.attrs = init.attrs;
    this.dict = new AttributeDictionary(init.dictionaryLog);
    if (this.isRoot) this.dict.register(init.attrs);
    this.bitmap = this.dict.bitmapOf(init.attrs);
    this.rollup = new SubtreeRollup(this.bitmap, this.self.id);
    const send = (to: NodeRef, msg: TreeMessage) => this.out.push({ type: 'send', to, msg });
    this.beats = new Heartbeats(this.options, send);
    this.watch = new FailureWatch(this.options);
    const isNeighbour = (id: string) => this.parent?.ref.id === id || this.kids.has(id);
    this.links = new Retransmitter(send, isNeighbour, this.options.ackTimeoutMs);
    const sendReliably = (to: NodeRef, id: string, msg: TreeMessage, now: number) => this.links.sendReliably(to, id, msg, now);
    this.flood = new Flooder(
      {
        selfId: this.self.id,
        neighbours: () => this.neighbours(),
        send,
        sendReliably,
        deliver: (id, origin, payload) => this.out.push({ type: 'deliver', via: 'flood', id, origin, payload }),
      },
      { seenLimit: 4096, recentLimit: 64 },
    );
    this.router = new Router(
      {
        selfId: this.self.id,
        isRoot: this.isRoot,
        attrs: () => this.attrs,
        dict: () => this.dict,
        parent: () => this.parent?.ref ?? null,
        children: () => this.kids.values(),
        send,
        sendReliably,
        deliver: (id, origin, payload) => this.out.push({ type: 'deliver', via: 'route', id, origin, payload }),
        counted: (qid, matching, partial) => this.out.push({ type: 'counted', qid, matching, partial }),
      },
      this.options.countTimeoutMs,
    );
    this.walk = new JoinWalk(
      {
        self: this.self,
        send,
        probe: (targets) => this.out.push({ type: 'probe', targets }),
        joinMessage: () => ({ k: 'join', self: this.self, attrs: this.attrs }),
        adoptMessage: () => ({ k: 'adopt', self: this.self, rollup: this.rollup.current, seen: this.flood.digest() }),
      },
      init.root,
      this.options.walkTimeoutMs,
    );
  }

  // --- read-only views (admin API, simulator) ---

  get attached(): boolean {
    return this.isRoot || this.parent !== null;
  }
  get parentRef(): NodeRef | null {
    return this.parent?.ref ?? null;
  }
  get ancestors(): readonly NodeRef[] {
    return this.path;
  }
  get depth(): number {
    return this.isRoot ? 0 : this.path.length;
  }
  get children(): NodeRef[] {
    return [...this.kids.values()].map((c) => c.ref);
  }
  hasChild(id: string): boolean {
    return this.kids.has(id);
  }
  get subtree(): Rollup {
    return this.rollup.current;
  }
  /** Whether a node is in this subtree as far as this node can tell: a child, or (deeper) in the id filter. */
  inSubtree(id: string): boolean {
    return this.kids.has(id) || (!this.silent.has(id) && mayHold(this.rollup.current, id));
  }
  get walkSteps(): number {
    return this.walk.steps;
  }

  handle(event: TreeEvent): TreeAction[] {
    this.out = [];
    const now = event.now;
    switch (event.type) {
      case 'start':
        if (this.isRoot) this.placed = true;
        else this.walk.begin([], now);
        break;
      case 'message':
        this.onMessage(event.from, event.msg, now);
        break;
      case 'probed':
        this.walk.onProbed(event.rtts, now);
        break;
      case 'tick':
        this.tick(now);
        break;
      case 'flood':
        this.flood.start(event.id, event.payload, now);
        break;
      case 'send-qualified':
        this.router.send(event.id, event.criteria, event.payload, now);
        break;
      case 'count':
        this.router.count(event.qid, event.criteria, null, now);
        break;
      case 'set-attrs':
        this.setAttrs(event.attrs);
        break;
    }
    return this.out;
  }

  private send(to: NodeRef, msg: TreeMessage): void {
    this.out.push({ type: 'send', to, msg });
  }

  private *neighbours(): Iterable<NodeRef> {
    if (this.parent) yield this.parent.ref;
    for (const c of this.kids.values()) yield c.ref;
  }

  private onMessage(from: NodeRef, msg: TreeMessage, now: number): void {
    this.silent.delete(from.id);
    switch (msg.k) {
      case 'join':
        return this.onJoin(from, msg.attrs);
      case 'walk':
        return this.onWalk(from);
      case 'info':
        if (msg.dict && !this.isRoot) this.learnDict(0, msg.dict);
        return this.walk.onInfo(from, msg.children, msg.room, false, now);
      case 'refused':
        return this.walk.onInfo(from, msg.children, false, msg.cycle, now);
      case 'adopt':
        return this.onAdopt(from, msg, now);
      case 'adopted':
        return this.onAdopted(from, msg, now);
      case 'down':
        return this.onDown(from, msg, now);
      case 'up':
        return this.onUp(from, msg, now);
      case 'leave':
        if (this.parent?.ref.id === from.id) this.loseParent(now);
        else if (this.kids.delete(from.id)) this.recompute();
        return;
      case 'dict-add':
        if (this.isRoot && this.dict.register(msg.attrs)) this.dictGrew();
        return;
      case 'flood':
        return this.flood.onFlood(from, msg, now);
      case 'ack':
        return this.links.onAck(from, msg.id);
      case 'route':
        return this.router.onRoute(from, msg, now);
      case 'count':
        return this.router.count(msg.qid, msg.criteria, from, now);
      case 'counted':
        return this.router.onCounted(from, msg);
    }
  }

  /** Whether `id` may become our child: not us, not one of our ancestors (no cycles), and we are in the tree. */
  private mayAdopt(id: string): boolean {
    return this.attached && id !== this.self.id && !this.path.some((a) => a.id === id);
  }

  private onJoin(from: NodeRef, attrs: Attributes): void {
    if (!this.isRoot) return this.send(from, { k: 'refused', children: [], cycle: true });
    if (this.dict.register(attrs)) this.dictGrew();
    this.send(from, { k: 'info', children: this.children, room: this.kids.size < this.options.fanout, dict: this.dict.since(0) });
  }

  private onWalk(from: NodeRef): void {
    if (!this.mayAdopt(from.id)) return this.send(from, { k: 'refused', children: [], cycle: true });
    this.send(from, { k: 'info', children: this.children.filter((c) => c.id !== from.id), room: this.kids.size < this.options.fanout || this.kids.has(from.id) });
  }

  private onAdopt(from: NodeRef, msg: Extract<TreeMessage, { k: 'adopt' }>, now: number): void {
    if (!this.mayAdopt(from.id)) return this.send(from, { k: 'refused', children: [], cycle: true });
    if (this.kids.size >= this.options.fanout && !this.kids.has(from.id)) return this.send(from, { k: 'refused', children: this.children, cycle: false });
    this.kids.set(from.id, { ref: from, rollup: msg.rollup, live: this.watch.liveness(now), dictVersion: this.dict.version });
    this.send(from, { k: 'adopted', path: [...this.path, this.self], seen: this.flood.digest() });
    this.flood.sync(from, msg.seen, now);
    this.recompute();
  }

  private onAdopted(from: NodeRef, msg: Extract<TreeMessage, { k: 'adopted' }>, now: number): void {
    if (!this.walk.onAdopted(from)) {
      // A late answer to an adoption we gave up on: tell that node we are not its child.
      if (this.parent?.ref.id !== from.id) this.send(from, { k: 'leave' });
      return;
    }
    this.parent = { ref: from, live: this.watch.liveness(now) };
    this.path = msg.path;
    this.beats.pathChanged();
    this.placed = true;
    this.beats.adopted(now, this.rollup.version);
    this.flood.sync(from, msg.seen, now);
    this.out.push({ type: 'placed', parent: from, depth: this.path.length });
  }

  private onDown(from: NodeRef, msg: Extract<TreeMessage, { k: 'down' }>, now: number): void {
    if (this.parent?.ref.id !== from.id) return this.send(from, { k: 'leave' });
    if (msg.path.some((a) => a.id === this.self.id)) {
      // We appear in our own path: a cycle formed from stale views. Leave and walk again from the root.
      this.send(from, { k: 'leave' });
      this.parent = null;
      this.walk.begin([], now);
      return;
    }
    this.parent.live.heard(now);
    if (!samePath(this.path, msg.path)) {
      this.path = msg.path;
      this.beats.pathChanged();
    }
    if (this.learnDict(msg.dictBase, msg.dict)) this.beats.markDown();
  }

  private onUp(from: NodeRef, msg: Extract<TreeMessage, { k: 'up' }>, now: number): void {
    const child = this.kids.get(from.id);
    if (!child) return this.send(from, { k: 'leave' });
    child.live.heard(now);
    child.dictVersion = msg.dictVersion;
    if (child.rollup !== msg.rollup && !sameRollup(child.rollup, msg.rollup)) {
      child.rollup = msg.rollup;
      this.recompute();
    }
  }

  private learnDict(base: number, entries: string[]): boolean {
    if (!this.dict.extend(base, entries)) return false;
    this.refreshBitmap();
    return true;
  }

  private dictGrew(): void {
    this.beats.markDown();
    this.refreshBitmap();
  }

  private setAttrs(attrs: Attributes): void {
    this.attrs = attrs;
    if (this.isRoot && this.dict.register(attrs)) this.beats.markDown();
    this.refreshBitmap();
    const root = this.path[0];
    if (!this.isRoot && root && hasBit(this.bitmap, UNKNOWN_BIT)) this.send(root, { k: 'dict-add', attrs });
  }

  private refreshBitmap(): void {
    this.bitmap = this.dict.bitmapOf(this.attrs);
    this.recompute();
  }

  private recompute(): void {
    this.rollup.recompute(this.bitmap, [...this.kids.values()].map((c) => c.rollup));
  }

  /** Bounded: a long-lived parent whose children keep dying forgets the oldest first. */
  private remember(id: string): void {
    this.silent.add(id);
    if (this.silent.size > MAX_SILENT) this.silent.delete(this.silent.values().next().value!);
  }

  private loseParent(now: number): void {
    const lost = this.parent!.ref;
    this.parent = null;
    this.out.push({ type: 'parent-lost', parent: lost });
    this.walk.begin(this.path.filter((a) => a.id !== lost.id), now);
  }

  private tick(now: number): void {
    if (this.walk.active) this.walk.tick(now);
    this.links.tick(now);
    this.router.tick(now);
    this.watch.creditStall(now, this.parent, this.kids.values());
    if (this.parent?.live.dead(now)) this.loseParent(now);
    for (const c of this.watch.deadChildren(now, this.kids.values())) {
      this.kids.delete(c.ref.id);
      this.remember(c.ref.id);
      this.out.push({ type: 'child-lost', child: c.ref });
      this.recompute();
    }
    if (this.parent) this.beats.up(now, this.parent.ref, this.rollup, this.dict.version);
    if (this.placed) this.beats.down(now, this.path, this.self, this.kids.values(), this.dict);
  }
}

function samePath(a: readonly NodeRef[], b: readonly NodeRef[]): boolean {
  return a.length === b.length && a.every((x, i) => x.id === b[i]!.id);
}
