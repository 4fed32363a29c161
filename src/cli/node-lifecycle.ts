/**
 * What `canopy node` does once its node has started, for whatever supervises it: prints the
 * `ready` JSON line on stdout, tells systemd READY=1 (Type=notify), re-reads its settings on
 * SIGHUP (applying what can change while running and naming what needs a restart), and stops
 * cleanly on SIGINT or SIGTERM (STOPPING=1 first, so systemd does not count it a failure);
 * a node the root revoked, or a root that lost its leader lease, stops and exits non-zero.
 */
import type { NodeConfig } from '../node/config.js';
import type { CanopyNode } from '../node/node.js';
import { describePlan, planReload } from '../node/reload-plan.js';
import { sdNotify } from '../ops/sd-notify.js';
import { printJson } from './output.js';

export async function serveUntilStopped(node: CanopyNode, config: NodeConfig, reread: () => NodeConfig): Promise<void> {
  printJson({ event: 'ready', nodeId: node.identity.nodeId, name: config.name, ...node.addresses() });
  const notified = await sdNotify({ READY: '1', STATUS: `serving; peer port ${node.addresses().peer.port}` });
  if (notified.outcome === 'failed') node.log.warn('could not tell systemd that the node is ready', { reason: notified.reason });
  let current = config;
  const onHup = () => {
    try {
      const next = reread();
      const plan = planReload(current, next);
      node.reload(plan);
      current = { ...next, ...Object.fromEntries(plan.restart.map((k) => [k, current[k as keyof NodeConfig]])) } as NodeConfig;
      node.log.info('settings reloaded', { applied: describePlan(plan), needsRestart: plan.restart });
    } catch (err) {
      node.log.error('settings not reloaded; the node keeps its current ones', { err: err as Error });
    }
  };
  process.on('SIGHUP', onHup);
  const signalled = new Promise<undefined>((resolve) => {
    process.once('SIGINT', () => resolve(undefined));
    process.once('SIGTERM', () => resolve(undefined));
  });
  // A revoked node stops and exits non-zero with ERR_NODE_REVOKED: retrying cannot help.
  // A root that lost its leader lease stops too (ERR_NOT_LEADER): its supervisor starts it again, as a standby.
  const revoked = await Promise.race([signalled, node.revoked(), node.deposed()]);
  process.off('SIGHUP', onHup);
  await sdNotify({ STOPPING: '1' });
  // Revoked or deposed, the process must end even if a connection hangs (a root cut off from its database).
  if (revoked) setTimeout(() => process.exit(process.exitCode || 1), 10_000).unref();
  await node.stop();
  // Stopped: what may still hold the event loop (a socket to a database cut off, until a TCP
  // timeout) has nothing left to do; the error is reported (below) before this timer fires.
  if (revoked) setTimeout(() => process.exit(process.exitCode || 1), 100).unref();
  if (revoked) throw revoked;
}
