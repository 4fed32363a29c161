// Older withdrawn and expired contents, a page at a time. The overview carries the live
// contents and only the most recent out-of-service ones, so it stays the size of the live
// set however long the network runs; this asks for older pages (GET /api/contents?
// state=history&cursor=…) only when the operator wants them.
import { useState } from 'preact/hooks';
import { api, type Overview } from '../api';

interface HistoryEntry {
  contentId: string;
  name: string;
  version?: number;
  versions?: number;
  state?: string;
  withdrawnAt?: string | null;
  withdrawnReason?: string | null;
}

interface HistoryAnswer {
  contents: HistoryEntry[];
  history: { next: string | null; total: number };
}

export function HistoryPager({ overview }: { overview: Overview }) {
  const [older, setOlder] = useState<HistoryEntry[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>();
  const history = overview.history;
  if (!history) return null;
  const shown = overview.contents.filter((c) => c.state !== 'live').length;
  const cursor = next === undefined ? history.next : next;
  if (history.total <= shown && older.length === 0) return null;
  const load = async () => {
    if (!cursor) return;
    try {
      const page = await api<HistoryAnswer>(`/api/contents?state=history&limit=20&cursor=${encodeURIComponent(cursor)}`);
      setOlder((o) => [...o, ...page.contents]);
      setNext(page.history.next);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div class="history" data-testid="history">
      <p class="muted">
        {history.total} withdrawn or expired contents on record, {shown + older.length} shown.{' '}
        {cursor && (
          <button type="button" onClick={load} data-testid="history-older">
            older
          </button>
        )}
        {error && <span class="error"> {error}</span>}
      </p>
      {older.length > 0 && (
        <ul>
          {older.map((c) => (
            <li key={c.contentId} data-content-id={c.contentId} data-state={c.state}>
              {c.name} {c.version ? `v${c.version}/${c.versions}` : ''} {c.state}
              {c.withdrawnReason ? `: ${c.withdrawnReason}` : ''} <span class="muted">{c.withdrawnAt ?? ''}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
