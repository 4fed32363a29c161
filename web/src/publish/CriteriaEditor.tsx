// A criteria field that asks the root, as the publisher types, which nodes the expression
// selects; syntax errors show where they are.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, formatAttrs } from '../api';

interface Match {
  criteria: string;
  total: number;
  matched: number;
  nodes: { nodeId: string; name: string; attrs: Record<string, string>; match: boolean }[];
}

const DEBOUNCE_MS = 150;

export function CriteriaEditor({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [match, setMatch] = useState<Match | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(() => {
      api<Match>(`/api/criteria/match?criteria=${encodeURIComponent(value)}`).then(
        (m) => !cancelled && (setMatch(m), setError(undefined)),
        (err: unknown) => !cancelled && (setMatch(undefined), setError(err instanceof ApiError ? err.message : String(err))),
      );
    }, DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [value]);

  return (
    <div class="criteria">
      <label>
        Who may hold it (criteria)
        <input data-testid="criteria" value={value} spellcheck={false} onInput={(e) => onChange((e.target as HTMLInputElement).value)} placeholder="region=eu & (tier=edge | tier=hub) & !lab" />
      </label>
      {error && <pre class="error" data-testid="criteria-error">{error}</pre>}
      {match && (
        <div>
          <p data-testid="match-count">
            <strong>{match.matched}</strong> of {match.total} nodes match
          </p>
          <div class="chips">
            {match.nodes.map((n) => (
              <span key={n.nodeId} class={`chip ${n.match ? 'match' : ''}`} title={formatAttrs(n.attrs)}>
                {n.name}
              </span>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
