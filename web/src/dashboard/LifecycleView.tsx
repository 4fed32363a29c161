// Every content's lifecycle and convergence, one row each: its version and state, how many
// qualified nodes hold all / part / none of it, what is left to move, how fast and until
// when, what the version really moved, and who is stuck and why. It reads the same overview
// as the other panels: the root puts its full status of each content (the answer of
// GET /api/contents/<ref>/status) in /api/overview, so one poll per second refreshes the whole
// page, instead of one status request per content.
import type { Overview } from '../api';
import { ConvergenceBar } from './ConvergenceBar';
import { StuckList } from './StuckList';
import { Moved, RateEta, Remaining } from './TransferFigures';
import { VersionLabel } from './VersionLabel';

export function LifecycleView({ overview }: { overview: Overview }) {
  const contents = overview.contents;
  if (contents.length === 0) return <p class="muted">Nothing published yet.</p>;
  return (
    <table class="lifecycle">
      <thead>
        <tr>
          <th>content</th>
          <th>qualified nodes holding it</th>
          <th>remaining</th>
          <th>rate · ETA</th>
          <th>moved</th>
          <th>stuck</th>
        </tr>
      </thead>
      <tbody>
        {contents.map((c) => (
          <tr key={c.contentId} data-content-id={c.contentId} data-state={c.state} class={c.state === 'live' ? '' : 'retired'}>
            <td>
              <VersionLabel content={c} all={contents} />
            </td>
            <td>
              <ConvergenceBar convergence={c.convergence} />
            </td>
            <td>
              <Remaining content={c} />
            </td>
            <td>
              <RateEta content={c} />
            </td>
            <td>
              <Moved content={c} />
            </td>
            <td>{c.state === 'live' ? <StuckList stuck={c.convergence.stuck} /> : <span class="muted">out of service</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
