/**
 * What the scheduler knows about one content's swarm: the blocks held and still wanted, the
 * holders and what each has, how many holders have each block, and which blocks are asked
 * of whom. Bookkeeping only; the policy that reads it is in `scheduler.ts` and
 * `block-choice.ts`.
 */
import type { Bitfield } from './bitfield.js';
import { DECLINE_RETRY_MS, LIFT_IDLE_MS } from './first-copy.js';
import { PeerState, type PeerLoad } from './peer-state.js';
import { Rendezvous } from './rendezvous.js';
import type { SwarmAction } from './swarm-input.js';

/** How long after a seed's last decline to a member the blocks handed on skip that member. */
export const SLOW_MEMORY_MS = DECLINE_RETRY_MS;

export class SwarmState {
  readonly peers = new Map<string, PeerState>();
  readonly availability: Uint16Array;
  readonly wantedMissing = new Set<number>();
  readonly urgentDeadlines = new Map<number, number>();
  /** Block index → when a seed last said it sent it to someone. */
  readonly seededAt = new Map<number, number>();
  /** Block index → peers it is asked of. */
  readonly asked = new Map<number, Set<string>>();
  readonly rendezvous = new Rendezvous();
  /** Requests made, second copies asked (endgame, urgent), requests taken from stalled peers: the cost side of the schedule. */
  readonly stats = { requests: 0, copies: 0, stalled: 0 };
  /** Requests outstanding over all peers, kept as a count so a pass does not walk the peers. */
  inFlight = 0;
  /** Blocks a seed declined to send us first, oldest first (`decline`). */
  private declines: { p: PeerState; index: number; at: number }[] = [];
  private declinesCheckedAt = -Infinity;
  /** When a request was last outstanding here (`noteBusy`): a declined block waits only while we have other work. */
  private busyAt = -Infinity;
  /** Members a seed declined first copies to lately → when it last said so (`declinedTo`). */
  private readonly slow = new Map<string, number>();
  /** Block index → the members a seed declined its first copy to (`declinedTo`). */
  private readonly handed = new Map<number, Set<string>>();
  /** `designee` of handed-on blocks, valid until a notice, a change of members, or `designeesUntil` (a slow mark expires). */
  private readonly designees = new Map<number, string | undefined>();
  private designeesUntil = Infinity;

  constructor(
    readonly lengths: readonly number[],
    readonly have: Bitfield,
    wanted: (index: number) => boolean,
  ) {
    this.availability = new Uint16Array(lengths.length);
    for (let i = 0; i < lengths.length; i++) if (wanted(i) && !have.has(i)) this.wantedMissing.add(i);
  }

  get done(): boolean {
    if (this.wantedMissing.size > 0) return false;
    for (const i of this.urgentDeadlines.keys()) if (!this.have.has(i)) return false;
    return true;
  }

  /** Length of a typical block (the first: all but the last are the same). */
  get blockLength(): number {
    return this.lengths.length === 0 ? 1 : (this.lengths[0] ?? 1);
  }

  addPeer(id: string, have: Bitfield, load: PeerLoad, rttMs: number, isSeed: boolean): void {
    if (this.peers.has(id)) this.removePeer(id);
    const peer = new PeerState(id, have, isSeed);
    peer.load = load;
    peer.rttMs = rttMs;
    for (let i = 0; i < have.size; i++) if (have.has(i)) this.availability[i]!++;
    this.peers.set(id, peer);
  }

  removePeer(id: string): void {
    const p = this.peers.get(id);
    if (!p) return;
    for (let i = 0; i < p.have.size; i++) if (p.have.has(i)) this.availability[i]!--;
    for (const index of p.inFlight.keys()) this.forget(p, index);
    this.peers.delete(id);
    for (const index of [...this.seededAt.keys()]) if (p.have.has(index)) this.releaseSeeded(index);
  }

  peerHas(id: string, index: number): void {
    const p = this.peers.get(id);
    if (p && index < p.have.size && p.have.set(index)) this.availability[index]!++;
  }

  /** A relay lost a block it was still receiving: it has it no more until a new `have`. */
  peerLost(id: string, index: number): void {
    const p = this.peers.get(id);
    if (p && !p.isSeed && p.have.unset(index)) this.availability[index]!--;
    this.releaseSeeded(index);
  }

  /**
   * A seed sent `index` to someone: it is held back from the seeds for the grace, as it will
   * soon be at a peer. Not a send to a member that has left the swarm (died, its store
   * refusing blocks), which will never be relayed: the one rule applies to notices taken
   * before the member left (`setSwarm`) and to those arriving after (issue 24 item 3).
   */
  noteSeeded(index: number, now: number, windowMs: number): void {
    if (!this.rendezvous.sentToDeparted(index, now, windowMs)) this.seededAt.set(index, now);
  }

  /** The downloaders, self included (rendezvous designation); notices about sends to members that left are dropped. */
  setSwarm(selfId: string, members: readonly string[], now: number, windowMs: number): void {
    if (!this.rendezvous.set(selfId, members, now)) return;
    this.designees.clear();
    for (const index of [...this.seededAt.keys()]) if (this.rendezvous.sentToDeparted(index, now, windowMs)) this.seededAt.delete(index);
  }

  /**
   * A seed's recent send of `index` holds us back from asking the seed only while a peer may
   * still relay it: once no other holder can (the relay that had it lost it, refused it or
   * left), the send most likely went to that relay, and waiting out the grace would only
   * stall us (issue 24 item 3: a peer whose store failed).
   */
  releaseSeeded(index: number): void {
    if (this.seededAt.has(index) && !this.peerServes(index)) this.seededAt.delete(index);
  }

  /** Whether a holder that is not a seed can serve us `index` (has it, or is receiving it, and has not refused it). */
  peerServes(index: number): boolean {
    for (const p of this.peers.values()) if (!p.isSeed && p.canServe(index)) return true;
    return false;
  }

  /** The seed `p` sends the block's first copy to a faster downloader (first-copy.ts): not asked of it again for now. */
  decline(p: PeerState, index: number, now: number): void {
    p.declined.add(index);
    this.declines.push({ p, index, at: now });
  }

  /**
   * A seed said it declined `index`'s first copy to `member` (a slow drain, first-copy.ts):
   * the block goes to the next member in its rendezvous order that no seed declined first
   * copies to lately (SLOW_MEMORY_MS), so a faster member fetches it and a relay copy will exist.
   */
  declinedTo(index: number, member: string, now: number): void {
    this.slow.set(member, now);
    this.designees.clear();
    let members = this.handed.get(index);
    if (!members) this.handed.set(index, (members = new Set()));
    members.add(member);
  }

  /** The member that takes `index` from a seed first: its rendezvous owner, or the next after declines. */
  designee(index: number, now: number): string | undefined {
    const declined = this.handed.get(index);
    if (!declined) return this.rendezvous.owner(index);
    if (now >= this.designeesUntil) this.designees.clear();
    if (this.designees.size === 0) {
      this.designeesUntil = Infinity;
      for (const at of this.slow.values()) if (at + SLOW_MEMORY_MS > now) this.designeesUntil = Math.min(this.designeesUntil, at + SLOW_MEMORY_MS);
    }
    if (this.designees.has(index)) return this.designees.get(index);
    const slow = (m: string) => declined.has(m) || now - (this.slow.get(m) ?? -Infinity) < SLOW_MEMORY_MS;
    const designee = this.rendezvous.ownerAmong(index, slow) ?? this.rendezvous.ownerAmong(index, (m) => declined.has(m));
    this.designees.set(index, designee);
    return designee;
  }

  /**
   * A declined block is asked of its seed again (which then sends it) when no other holder has
   * it, nor was it sent from a seed lately (a faster member is getting it), and either we have
   * had nothing in flight for LIFT_IDLE_MS (we would only wait: the stall session 9's
   * two-downloader distribute hit) or the decline is DECLINE_RETRY_MS old. Checked at most
   * once a second while busy: a pass must stay cheap.
   */
  retryDeclined(now: number, seedGraceMs: number): void {
    if (this.declines.length === 0) return;
    const idle = now - this.busyAt >= LIFT_IDLE_MS;
    if (!idle && now - this.declinesCheckedAt < 1_000) return;
    this.declinesCheckedAt = now;
    this.declines = this.declines.filter(({ p, index, at }) => {
      if (this.have.has(index) || this.peers.get(p.id) !== p) return false;
      if (!idle && now - at < DECLINE_RETRY_MS) return true;
      if (now - (this.seededAt.get(index) ?? -Infinity) < seedGraceMs) return true;
      for (const q of this.peers.values()) if (q !== p && q.canServe(index)) return true;
      p.declined.delete(index);
      return false;
    });
  }

  /** Called before each input is applied: requests outstanding until now count as work (`retryDeclined`). */
  noteBusy(now: number): void {
    if (this.inFlight > 0) this.busyAt = now;
  }

  markHeld(index: number): void {
    this.have.set(index);
    this.wantedMissing.delete(index);
    this.urgentDeadlines.delete(index);
  }

  request(p: PeerState, index: number, now: number, actions: SwarmAction[]): void {
    if (!p.inFlight.has(index)) this.inFlight++;
    p.inFlight.set(index, now);
    let ids = this.asked.get(index);
    if (!ids) this.asked.set(index, (ids = new Set()));
    this.stats.requests++;
    if (ids.size > 0) this.stats.copies++;
    ids.add(p.id);
    this.busyAt = now;
    actions.push({ type: 'request', peer: p.id, index });
  }

  /** The request for `index` at `p` is over (answered, failed, cancelled); returns when it was sent. */
  forget(p: PeerState, index: number): number | undefined {
    const sentAt = p.inFlight.get(index);
    if (sentAt !== undefined) {
      p.inFlight.delete(index);
      this.inFlight--;
    }
    this.asked.get(index)?.delete(p.id);
    return sentAt;
  }

  /** Cancels every request outstanding at `p`. */
  cancelAll(p: PeerState, actions: SwarmAction[]): void {
    for (const index of [...p.inFlight.keys()]) {
      actions.push({ type: 'cancel', peer: p.id, index });
      this.forget(p, index);
    }
  }
}
