/**
 * Messages for the nodes that meet a criteria (`sendToQualified`) and counts of them.
 * A routed message climbs from its origin to the root and, on the way, enters every child
 * subtree whose rollup may match; each node it reaches delivers it if it matches itself.
 * A count descends only into subtrees whose rollup may match, adds whole subtrees whose
 * rollup says every node matches without entering them, and sums the answers upward.
 */
import { matches, parseCriteria, type Criteria } from '../core/criteria.js';
import type { Attributes } from '../core/attributes.js';
import type { AttributeDictionary } from './attribute-dictionary.js';
import { ALL, compileCriteria, NONE, type RollupTest } from './criteria-compiler.js';
import type { Rollup } from './rollup.js';
import type { NodeRef, TreeMessage } from './tree-messages.js';

export interface RouterContext {
  readonly selfId: string;
  readonly isRoot: boolean;
  attrs(): Attributes;
  dict(): AttributeDictionary;
  parent(): NodeRef | null;
  children(): Iterable<{ ref: NodeRef; rollup: Rollup }>;
  send(to: NodeRef, msg: TreeMessage): void;
  sendReliably(to: NodeRef, id: string, msg: TreeMessage, now: number): void;
  deliver(id: string, origin: string, payload: unknown): void;
  counted(qid: string, n: number, partial: boolean): void;
}

interface Query {
  requester: NodeRef | null;
  sum: number;
  waiting: Set<string>;
  partial: boolean;
  deadline: number;
}

interface Compiled {
  criteria: Criteria;
  test: RollupTest;
  version: number;
}

const SEEN_LIMIT = 4096;

export class Router {
  /** Messages this node handled (the simulator's `visited`). */
  handled = 0;
  private readonly seen = new Set<string>();
  private readonly queries = new Map<string, Query>();
  private readonly cache = new Map<string, Compiled>();

  constructor(
    private readonly ctx: RouterContext,
    private readonly timeoutMs: number,
  ) {}

  send(id: string, criteria: string, payload: unknown, now: number): void {
    this.onRoute(null, { k: 'route', id, origin: this.ctx.selfId, criteria, payload }, now);
  }

  onRoute(from: NodeRef | null, msg: Extract<TreeMessage, { k: 'route' }>, now: number): void {
    if (from) this.ctx.send(from, { k: 'ack', id: msg.id });
    if (this.seen.has(msg.id)) return;
    this.seen.add(msg.id);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
    const c = this.compile(msg.criteria);
    if (!c) return;
    this.handled++;
    if (matches(c.criteria, this.ctx.attrs(), this.ctx.selfId)) this.ctx.deliver(msg.id, msg.origin, msg.payload);
    for (const child of this.ctx.children()) {
      if (child.ref.id !== from?.id && c.test(child.rollup) !== NONE) this.ctx.sendReliably(child.ref, msg.id, msg, now);
    }
    const parent = this.ctx.parent();
    if (parent && parent.id !== from?.id) this.ctx.sendReliably(parent, msg.id, msg, now);
  }

  /** Starts counting the matching nodes of this subtree; the answer goes to `requester`, or to `counted` when null. */
  count(qid: string, criteria: string, requester: NodeRef | null, now: number): void {
    const c = this.compile(criteria);
    if (!c || this.queries.has(qid)) {
      if (requester) this.ctx.send(requester, { k: 'counted', qid, n: 0, partial: true });
      return;
    }
    const q: Query = { requester, sum: matches(c.criteria, this.ctx.attrs(), this.ctx.selfId) ? 1 : 0, waiting: new Set(), partial: false, deadline: now + this.timeoutMs };
    for (const child of this.ctx.children()) {
      const v = c.test(child.rollup);
      if (v === ALL) q.sum += child.rollup.count;
      else if (v !== NONE) {
        q.waiting.add(child.ref.id);
        this.ctx.send(child.ref, { k: 'count', qid, criteria });
      }
    }
    this.queries.set(qid, q);
    if (q.waiting.size === 0) this.finish(qid, q);
  }

  onCounted(from: NodeRef, msg: Extract<TreeMessage, { k: 'counted' }>): void {
    const q = this.queries.get(msg.qid);
    if (!q || !q.waiting.delete(from.id)) return;
    q.sum += msg.n;
    q.partial ||= msg.partial;
    if (q.waiting.size === 0) this.finish(msg.qid, q);
  }

  tick(now: number): void {
    if (this.queries.size === 0) return;
    for (const [qid, q] of this.queries) {
      if (now >= q.deadline) {
        q.partial = true;
        this.finish(qid, q);
      }
    }
  }

  private finish(qid: string, q: Query): void {
    this.queries.delete(qid);
    if (q.requester) this.ctx.send(q.requester, { k: 'counted', qid, n: q.sum, partial: q.partial });
    else this.ctx.counted(qid, q.sum, q.partial);
  }

  /** Parsed and compiled once per criteria text and dictionary version; null if it does not parse. */
  private compile(text: string): Compiled | null {
    const dict = this.ctx.dict();
    const hit = this.cache.get(text);
    if (hit && hit.version === dict.version) return hit;
    let criteria: Criteria;
    try {
      criteria = parseCriteria(text);
    } catch {
      return null;
    }
    const compiled = { criteria, test: compileCriteria(criteria, dict, this.ctx.isRoot), version: dict.version };
    if (this.cache.size > 256) this.cache.clear();
    this.cache.set(text, compiled);
    return compiled;
  }
}
