/**
 * The holders one content's session talks to: found through the root (`holders`, repeated
 * 0.5 s, 1 s, 2 s, then every 3 s to pick up late joiners), each opened with `interest`
 * (bitfield, load, round trip), kept fresh with `load` every 2 s, and dropped when its
 * connection closes. What it learns goes to the scheduler as inputs.
 */
import type { Logger } from '../core/logger.js';
import type { Holder, InterestReply } from '../wire/messages.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { PeerPool } from '../wire/peer-pool.js';
import { Bitfield } from './bitfield.js';
import type { PeerLoad } from './peer-state.js';
import type { Stuck } from './stuck.js';
import type { SwarmInput } from './swarm-input.js';

export interface HolderLinksDeps {
  selfId: string;
  pool: PeerPool;
  findHolders: (contentId: string) => Promise<Holder[]>;
  onStuck: (stuck: Stuck | undefined) => void;
  log: Logger;
}

const DISCOVER_MS = [500, 1_000, 2_000, 3_000];

export class HolderLinks {
  readonly conns = new Map<string, PeerConnection>();
  private readonly connecting = new Set<string>();
  private readonly banned = new Set<string>();
  /** The `close` listener added to each peer connection, removed when it is no longer needed. */
  private readonly closeListeners = new Map<PeerConnection, () => void>();
  private discoverRound = 0;

  constructor(
    private readonly contentId: string,
    private readonly blocks: number,
    private readonly deps: HolderLinksDeps,
    /** Feeds an input to the scheduler and carries out what it returns. */
    private readonly handle: (input: SwarmInput) => void,
    private readonly stopped: () => boolean,
    /** Runs `fn` after `ms` unless the session has stopped (its timers are cleared then). */
    private readonly later: (fn: () => void, ms: number) => void,
  ) {}

  ban(id: string): void {
    this.banned.add(id);
  }

  /** Removes this session's listeners from the shared connections. */
  close(): void {
    for (const [conn, listener] of this.closeListeners) conn.off('close', listener);
    this.closeListeners.clear();
  }

  discover(): void {
    if (this.stopped()) return;
    const delay = DISCOVER_MS[Math.min(this.discoverRound++, DISCOVER_MS.length - 1)]!;
    this.deps
      .findHolders(this.contentId)
      .then((holders) => {
        // The origin's designation runs among the origin group only, when the root bounds its answer (root/holder-bound.ts).
        this.handle({ type: 'swarm', selfId: this.deps.selfId, members: holders.filter((h) => !h.complete && h.group !== false).map((h) => h.nodeId) });
        if (!holders.some((h) => h.nodeId !== this.deps.selfId) && this.conns.size === 0) this.deps.onStuck({ reason: 'no-peer', detail: 'no node holds this content yet' });
        holders.forEach((h) => this.connect(h));
      })
      .catch((err: Error) => this.deps.log.debug('cannot list holders', { contentId: this.contentId, err }))
      .finally(() => {
        if (!this.stopped()) this.later(() => this.discover(), delay);
      });
  }

  private connect(holder: Holder): void {
    const id = holder.nodeId;
    if (id === this.deps.selfId || this.conns.has(id) || this.connecting.has(id) || this.banned.has(id)) return;
    this.connecting.add(id);
    void (async () => {
      try {
        const conn = await this.deps.pool.get(holder.peer);
        const t0 = performance.now();
        const reply = await conn.request('interest', { contentId: this.contentId }, { timeoutMs: 10_000 });
        const rtt = performance.now() - t0;
        const body = reply.header as unknown as InterestReply;
        const have = Bitfield.fromBytes(this.blocks, reply.payload);
        if (this.stopped() || conn.isClosed) return;
        this.conns.set(id, conn);
        this.handle({ type: 'peer-joined', peer: id, have, load: loadOf(body), rttMs: rtt, isSeed: have.complete });
        // One listener per session on the shared connection, removed when the session ends or the peer is dropped.
        const onClose = () => this.drop(id, conn);
        this.closeListeners.set(conn, onClose);
        conn.once('close', onClose);
      } catch (err) {
        this.deps.log.debug('cannot open interest', { contentId: this.contentId, peer: id, err: err as Error });
      } finally {
        this.connecting.delete(id);
      }
    })();
  }

  private drop(id: string, conn: PeerConnection): void {
    if (this.conns.get(id) !== conn) return;
    this.conns.delete(id);
    const listener = this.closeListeners.get(conn);
    if (listener) conn.off('close', listener);
    this.closeListeners.delete(conn);
    this.handle({ type: 'peer-left', peer: id });
  }

  refreshLoads(): void {
    for (const [id, conn] of this.conns) {
      const t0 = performance.now();
      conn
        .request('load', { contentId: this.contentId }, { timeoutMs: 10_000 })
        .then((reply) => this.handle({ type: 'peer-load', peer: id, load: loadOf(reply.header as unknown as PeerLoad), rttMs: performance.now() - t0 }))
        .catch(() => undefined);
    }
  }
}

function loadOf(v: PeerLoad): PeerLoad {
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0);
  return { uploads: n(v.uploads), queuedBytes: n(v.queuedBytes), rate: n(v.rate), cap: n(v.cap) };
}
