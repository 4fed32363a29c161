/**
 * The lease settings of a root from its node config: where its standby API answers and
 * which addresses the lease row shows before the node listens (its configured ones).
 */
import type { StateSettings } from './open-root-state.js';
import type { LeaderView, Leadership } from './leadership.js';

interface RootPorts {
  host: string;
  apiHost: string;
  peerPort: number;
  apiPort: number;
}

const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);

export function leaseSettings(config: RootPorts, onLost: (err: Error) => void, onStandby: (view: LeaderView) => void, onLead?: (view: LeaderView) => void, onSlow?: Leadership['onSlow']): NonNullable<StateSettings['lead']> {
  return {
    onLead,
    onSlow,
    api: { host: config.apiHost, port: config.apiPort },
    addresses: { peer: `${bracket(config.host)}:${config.peerPort}`, api: `http://${bracket(config.apiHost)}:${config.apiPort}` },
    onLost,
    onStandby,
  };
}
