/**
 * Live versus ready, the way supervisors and load balancers ask. `/healthz` answers while the
 * process serves requests (restart it if not); `/readyz` answers 200 only when the node can
 * serve what it lists: the catalog (withdrawals included) has been learnt from the root and
 * at least one block volume is usable. A 503 says which check is not met, so an operator
 * sees why a node is out of rotation without reading its logs.
 */
export interface ReadinessInput {
  /** Catalog learnt from the root (always true on the root). */
  synced: boolean;
  volumes: readonly { state: string }[];
}

export interface Readiness {
  ready: boolean;
  catalog: 'synced' | 'syncing';
  volumes: { usable: number; failed: number; total: number };
}

export function readiness(input: ReadinessInput): Readiness {
  const failed = input.volumes.filter((v) => v.state === 'failed').length;
  const usable = input.volumes.length - failed;
  return { ready: input.synced && usable > 0, catalog: input.synced ? 'synced' : 'syncing', volumes: { usable, failed, total: input.volumes.length } };
}
