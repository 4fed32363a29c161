// Which version of its name a content is, what it replaces (the previous version under that
// name) and what replaces it, and whether it is in service: live, withdrawn or expired.
import type { ContentView } from '../api';

export function VersionLabel({ content: c, all }: { content: ContentView; all: ContentView[] }) {
  const previous = c.previous ? all.find((x) => x.contentId === c.previous) : undefined;
  const next = all.find((x) => x.previous === c.contentId);
  return (
    <div class="version-label">
      <strong>{c.name}</strong> <span data-testid="version">v{c.version}</span>
      <span class="muted">/{c.versions}</span>{' '}
      <span class={`state ${c.state}`} data-testid="state" title={c.withdrawnAt ? `since ${c.withdrawnAt}${c.withdrawnReason ? `: ${c.withdrawnReason}` : ''}` : c.expires ? `expires ${c.expires}` : ''}>
        {c.state}
      </span>
      <div class="muted">
        <span title={c.contentId}>{c.contentId.slice(0, 12)}</span>
        {c.previous && (
          <>
            {' · '}
            <span data-testid="replaces" title={c.previous}>
              replaces {previous ? `v${previous.version}` : 'a version'} ({c.previous.slice(0, 8)})
            </span>
          </>
        )}
        {next && <span> · replaced by v{next.version}</span>}
        {c.state === 'live' && c.expires && <span> · expires {c.expires}</span>}
      </div>
    </div>
  );
}
