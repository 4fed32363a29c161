/**
 * What `canopy node` does once its node has started, for whatever supervises it: prints the
 * `ready` JSON line on stdout, tells systemd READY=1 (Type=notify), re-reads its settings on
 * SIGHUP (applying what can change while running and naming what needs a restart), and stops
 * cleanly on SIGINT or SIGTERM (STOPPING=1 first, so systemd does not count it a failure).
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
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.off('SIGHUP', onHup);
  await sdNotify({ STOPPING: '1' });
  await node.stop();
}
