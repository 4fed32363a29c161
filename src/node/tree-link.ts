/**
 * The control-tree core inside a real node: feeds it peer messages, timer ticks and probe
 * results, and carries out what it asks (send over the peer wire, measure round trips,
 * deliver floods and routed messages to the node). The core decides everything; this
 * adapter only moves bytes and keeps time.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { decodeTreeMessage, encodeTreeMessage } from '../tree/tree-codec.js';
import type { TreeAction, TreeEvent, TreeOptions } from '../tree/tree-events.js';
import type { NodeRef } from '../tree/tree-messages.js';
import { TreeNode } from '../tree/tree-node.js';
import type { PeerPool } from '../wire/peer-pool.js';
import { parseAddress } from '../wire/transport.js';
import type { Logger } from '../core/logger.js';

export const TICK_MS = 100;
export const PROBE_TIMEOUT_MS = 1000;

export interface TreeLinkDeps {
  pool: PeerPool;
  self: NodeRef;
  attrs: Attributes;
  options: Partial<TreeOptions>;
  log: Logger;
  onDeliver: (via: 'flood' | 'route', id: string, origin: string, payload: unknown) => void;
  onPlaced: (parent: NodeRef) => void;
}

export class TreeLink {
  private core: TreeNode | undefined;
  private rootRef: NodeRef | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly counts = new Map<string, (r: { matching: number; partial: boolean }) => void>();
  private readonly epoch = performance.now();

  constructor(private readonly deps: TreeLinkDeps) {}

  /** Starts the core; `root` is null on the root itself. */
  start(root: NodeRef | null): void {
    this.rootRef = root ?? this.deps.self;
    this.core = new TreeNode({ self: this.deps.self, attrs: this.deps.attrs, root: root ?? this.deps.self, options: this.deps.options });
    this.timer = setInterval(() => this.handle({ type: 'tick', now: this.now() }), TICK_MS);
    this.timer.unref();
    this.handle({ type: 'start', now: this.now() });
  }

  stop(): void {
    clearInterval(this.timer);
    for (const resolve of this.counts.values()) resolve({ matching: 0, partial: true });
    this.counts.clear();
  }

  get started(): boolean {
    return this.core !== undefined;
  }

  /** The root's id, from the tree's point of view (known once started). */
  get rootId(): string | undefined {
    return this.rootRef?.id;
  }

  /** A `tree` frame from a peer whose hello said it is `connId`. */
  receive(connId: string, from: NodeRef, body: unknown): void {
    if (from.id !== connId) throw new CanopyError('ERR_NOT_AUTHORISED', `tree message claims to be from ${from.id} on ${connId}'s connection`);
    const msg = decodeTreeMessage(body);
    this.handle({ type: 'message', now: this.now(), from, msg });
  }

  flood(id: string, payload: unknown): void {
    this.handle({ type: 'flood', now: this.now(), id, payload });
  }

  sendToQualified(criteria: string, payload: unknown): string {
    const id = `r-${randomBytes(8).toString('hex')}`;
    this.handle({ type: 'send-qualified', now: this.now(), id, criteria, payload });
    return id;
  }

  /** How many nodes of this node's subtree (the whole tree, at the root) meet the criteria. */
  count(criteria: string): Promise<{ matching: number; partial: boolean }> {
    const qid = `q-${randomBytes(8).toString('hex')}`;
    const result = new Promise<{ matching: number; partial: boolean }>((resolve) => this.counts.set(qid, resolve));
    this.handle({ type: 'count', now: this.now(), qid, criteria });
    return result;
  }

  /**
   * Whether a node is in this node's subtree as the tree sees it: a child that still sends
   * heartbeats, or (deeper down) in the id filter of the rollups. A hung member whose parent
   * gave up on it drops out here while its connection to the root may stay open.
   */
  inTree(nodeId: string): boolean {
    return this.core?.inSubtree(nodeId) ?? true;
  }

  view(): Record<string, unknown> {
    const c = this.core;
    if (!c) return { attached: false };
    return {
      attached: c.attached,
      depth: c.depth,
      parent: c.parentRef,
      path: c.ancestors,
      children: c.children,
      subtreeNodes: c.subtree.count,
      dictionaryVersion: c.dict.version,
      fanout: c.options.fanout,
    };
  }

  private now(): number {
    return performance.now() - this.epoch;
  }

  private handle(event: TreeEvent): void {
    if (!this.core) return;
    for (const a of this.core.handle(event)) this.act(a);
  }

  private act(a: TreeAction): void {
    const { log } = this.deps;
    switch (a.type) {
      case 'send':
        this.send(a.to, a.msg);
        break;
      case 'probe':
        void this.probe(a.targets);
        break;
      case 'deliver':
        this.deps.onDeliver(a.via, a.id, a.origin, a.payload);
        break;
      case 'placed':
        log.info('placed in the control tree', { parent: a.parent.id, depth: a.depth });
        this.deps.onPlaced(a.parent);
        break;
      case 'parent-lost':
        log.warn('lost tree parent; re-attaching', { parent: a.parent.id });
        break;
      case 'child-lost':
        log.warn('lost tree child', { child: a.child.id });
        break;
      case 'counted':
        this.counts.get(a.qid)?.({ matching: a.matching, partial: a.partial });
        this.counts.delete(a.qid);
        break;
    }
  }

  private send(to: NodeRef, msg: Parameters<typeof encodeTreeMessage>[0]): void {
    const address = parseAddress(to.addr);
    if (!address) return;
    const body = { from: this.deps.self, m: encodeTreeMessage(msg) };
    this.deps.pool
      .get(address)
      .then((conn) => conn.notify('tree', body))
      .catch((err: Error) => this.deps.log.debug('tree message not sent', { to: to.id, kind: msg.k, err }));
  }

  private async probe(targets: NodeRef[]): Promise<void> {
    const rtts = new Map<string, number | null>();
    await Promise.all(
      targets.map(async (t) => {
        const address = parseAddress(t.addr);
        try {
          if (!address) throw new CanopyError('ERR_UNREACHABLE', `bad address ${t.addr}`);
          const conn = await withTimeout(this.deps.pool.get(address), PROBE_TIMEOUT_MS);
          const t0 = performance.now();
          await conn.request('ping', {}, { timeoutMs: PROBE_TIMEOUT_MS });
          rtts.set(t.id, performance.now() - t0);
        } catch {
          rtts.set(t.id, null);
        }
      }),
    );
    this.handle({ type: 'probed', now: this.now(), rtts });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CanopyError('ERR_TIMEOUT', `no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
