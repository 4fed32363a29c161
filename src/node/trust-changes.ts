/**
 * Trust changes: a signed update from the root (or relayed), or the list that comes with a
 * catalog sync. Revoked peers are cut off by the trust layer; a newer publisher list lets
 * held announcements be judged again; if this node's own attributes changed, it drops the
 * contents it may no longer hold and fetches those it now qualifies for (admission.ts).
 */
import type { Logger } from '../core/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import type { NodeSecurity } from '../security/node-security.js';
import type { TrustUpdate } from '../security/peer-trust.js';
import { afterAttributeChange, type Self } from './admission.js';
import type { AnnouncementIntake } from './announcement-intake.js';
import type { Holdings } from './holdings.js';

export interface TrustChangesDeps {
  security: NodeSecurity;
  catalog: Catalog;
  /** Built after this (they ask for trust changes); read at call time. */
  holdings: () => Holdings;
  /** Built after this (its catalog sync applies trust updates); read at call time. */
  intake: () => AnnouncementIntake;
  self: () => Self;
  log: Logger;
}

export function trustChanges(deps: TrustChangesDeps): (update: TrustUpdate) => void {
  const { security, catalog, log } = deps;
  return (update) => {
    let applied;
    try {
      applied = security.apply(update);
    } catch (err) {
      log.warn('dropped invalid trust update', { err: err as Error });
      return;
    }
    for (const id of applied.revoked) log.warn('node revoked', { revoked: id });
    if (applied.publishers) {
      log.info('authorised publishers updated', { publishers: security.trust.publishers()?.publishers.length ?? 0 });
      deps.intake().retryHeld();
    }
    const self = deps.self();
    if (!applied.changed.some((r) => r.nodeId === self.nodeId)) return;
    log.info('attributes changed', { attrs: self.attrs });
    const contents = catalog.list().map((c) => ({ ...c, live: catalog.isLive(c.contentId) }));
    for (const { contentId, action } of afterAttributeChange(contents, self)) {
      const manifest = catalog.require(contentId);
      const holdings = deps.holdings();
      if (action === 'prefetch') holdings.prefetch(contentId, manifest);
      else holdings.disqualified(contentId, manifest);
    }
  };
}
