/** What exists only once a node runs (its listening addresses, its certificate renewal): node.ts supplies it to the parts built before. */
import type { PeerAddress } from '../wire/transport.js';

export interface NodeAddresses {
  peer: PeerAddress;
  api: string;
  http: string;
  ftp: string;
  s3: string;
}

/** What exists only once the node runs; node.ts supplies it. */
export interface RunTime {
  addresses: () => NodeAddresses;
  info: () => Record<string, unknown>;
  renewIfDue: () => void;
  renewCertificate: () => Promise<{ nodeId: string; validTo: string }>;
  /** A member's root link joined another root than before (a standby took over): re-form the tree under it. */
  rootChanged: (root: { id: string; addr: PeerAddress }) => void;
}
