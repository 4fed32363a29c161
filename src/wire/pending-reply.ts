/**
 * A request's answer as the connection sees it: the reply handed to the requester, and what
 * the connection keeps while the reply's frames arrive (peer-connection.ts).
 */
import type { Lease } from '../core/block-pool.js';

/**
 * A reply: `parts` is the payload as received (no copy); `payload` joins it on first use
 * (or is the one part itself). On a connection this node dialled the parts are block-pool
 * buffers (frame-copier.ts): `release()` gives them back, and must come only once nothing
 * refers to them (a store write done, no relay reader's socket still holding them; never
 * after handing `payload` or a part on). A reply never released is simply collected.
 */
export interface Reply {
  readonly header: Record<string, unknown>;
  readonly payload: Buffer;
  readonly parts: readonly Buffer[];
  release(): void;
}

/** Takes a piece of a reply in parts and the pooled buffers behind it (none for plain buffers), releasing each once. */
export type TakePart = (parts: readonly Buffer[], leases: readonly Lease[]) => void;

/** A request waiting for its reply. */
export interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Payload pieces received so far in `part` frames (and the pooled buffers behind them), and who wants each as it comes. */
  parts: Buffer[];
  leases: Lease[];
  partBytes: number;
  onPart: ((parts: readonly Buffer[]) => void) | undefined;
  takePart: TakePart | undefined;
}
