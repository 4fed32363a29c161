/**
 * The rule for a content ingested locally (`canopy ingest` into this node's volumes, or
 * published by this node) whose criteria this node does not meet: the node KEEPS it and
 * serves it to its own HTTP/FTP clients, as the README promises ("a node started with the
 * same --data/--volume serves it"). The operator put those bytes there on purpose; deleting
 * 256 blocks on start because of an attribute is the worse surprise (issue 16). It is never
 * offered to peers that do not qualify (holders check the requester, not themselves).
 * Because it is an exception to "only qualified nodes hold a content", it is loud: a warning
 * once per content, and `local.keptOutsideCriteria: true` in GET /api/contents/<id>.
 */
import type { Manifest } from '../core/manifest.js';
import type { Logger } from '../core/logger.js';

export class OwnedOutsideCriteria {
  private readonly kept = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Notes a locally owned content this node does not qualify for; warns the first time. */
  note(contentId: string, manifest: Manifest): void {
    if (this.kept.has(contentId)) return;
    this.kept.add(contentId);
    this.log.warn('keeping a locally ingested content whose criteria this node does not meet; it serves it to its own clients only', { contentId, name: manifest.name, criteria: manifest.criteria });
  }

  has(contentId: string): boolean {
    return this.kept.has(contentId);
  }
}
