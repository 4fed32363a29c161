// Under the publish button: how far the content has reached each qualified node, live,
// so the publisher sees distribution start while the upload is still running.
import { useEffect, useState } from 'preact/hooks';
import { api, type ContentView } from '../api';

const POLL_MS = 1000;

export function SpreadLine({ contentId }: { contentId: string }) {
  const [status, setStatus] = useState<ContentView | undefined>();
  useEffect(() => {
    let stopped = false;
    const tick = () =>
      api<ContentView>(`/api/contents/${contentId}/status`).then(
        (s) => !stopped && setStatus(s),
        () => undefined,
      );
    void tick();
    const timer = setInterval(tick, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [contentId]);
  if (!status) return null;
  const qualified = status.nodes.filter((n) => n.qualified);
  return (
    <p class="spread-line" data-testid="spread-line">
      reached: {qualified.filter((n) => n.complete).length}/{qualified.length} nodes complete
      {qualified.map((n) => (
        <span key={n.nodeId} class="chip match" data-node={n.name}>
          {n.name} {status.size > 0 ? Math.floor((n.haveBytes / status.size) * 100) : 100}%
        </span>
      ))}
    </p>
  );
}
