/**
 * What a tree node sends its neighbours on each tick: `up` to its parent (the subtree rollup,
 * every heartbeat, or sooner, batched, when it changed) and `down` to its children (the path
 * to the root and the dictionary entries each child lacks, every heartbeat or as soon as
 * either changed). These messages are also the heartbeats the neighbours' failure detection
 * listens for.
 */
import type { AttributeDictionary } from './attribute-dictionary.js';
import type { SubtreeRollup } from './subtree-rollup.js';
import type { Child } from './tree-child.js';
import type { TreeOptions } from './tree-events.js';
import type { NodeRef, TreeMessage } from './tree-messages.js';

export class Heartbeats {
  private sentVersion = -1;
  private lastUpAt = -Infinity;
  private lastDownAt = -Infinity;
  private downDirty = false;
  /** The path sent to children (ours plus us), rebuilt only when ours changes. */
  private downPath: NodeRef[] = [];

  constructor(
    private readonly options: TreeOptions,
    private readonly send: (to: NodeRef, msg: TreeMessage) => void,
  ) {}

  /** Something children must learn (the dictionary grew) changed: send down at the next tick. */
  markDown(): void {
    this.downDirty = true;
  }

  /** Our path to the root changed: the path sent down is rebuilt and sent at the next tick. */
  pathChanged(): void {
    this.downPath = [];
    this.downDirty = true;
  }

  /** Just adopted: the new parent got our rollup with the adoption. */
  adopted(now: number, rollupVersion: number): void {
    this.sentVersion = rollupVersion;
    this.lastUpAt = now;
  }

  up(now: number, parent: NodeRef, rollup: SubtreeRollup, dictVersion: number): void {
    const changed = this.sentVersion !== rollup.version;
    if (now - this.lastUpAt >= this.options.heartbeatMs || (changed && now - this.lastUpAt >= this.options.rollupBatchMs)) {
      this.send(parent, { k: 'up', rollup: rollup.current, dictVersion });
      this.sentVersion = rollup.version;
      this.lastUpAt = now;
    }
  }

  down(now: number, path: readonly NodeRef[], self: NodeRef, children: Iterable<Child>, dict: AttributeDictionary): void {
    if (!this.downDirty && now - this.lastDownAt < this.options.heartbeatMs) return;
    if (this.downPath.length === 0) this.downPath = [...path, self];
    const downPath = this.downPath;
    // Children at the same dictionary version share one message object (cheap in the simulator).
    let shared: TreeMessage | undefined;
    for (const c of children) {
      const base = Math.min(c.dictVersion, dict.version);
      const upToDate = base === dict.version;
      const msg: TreeMessage = upToDate && shared ? shared : { k: 'down', path: downPath, dictBase: base, dict: dict.since(base) };
      if (upToDate) shared = msg;
      this.send(c.ref, msg);
      c.dictVersion = dict.version;
    }
    this.downDirty = false;
    this.lastDownAt = now;
  }
}
