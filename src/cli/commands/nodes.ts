import type { Command } from 'commander';
import { formatAttributes, parseAttributes } from '../../core/attributes.js';
import { action, printJson } from '../output.js';
import { apiClient, apiTokenFileOption, apiUrlOption } from '../api-options.js';

interface NodesOptions {
  to: string;
  apiTokenFile?: string;
  json?: boolean;
}

interface Member {
  nodeId: string;
  name: string;
  attrs: Record<string, string>;
}

const common = (c: Command) =>
  c
    .addOption(apiUrlOption())
    .addOption(apiTokenFileOption())
    .option('--json', 'print machine-readable JSON');

/** Members rejoin a restarted root within seconds (their join retries back off to at most ~10 s). */
const SYNC_GRACE_S = 30;

/** `canopy nodes`: list members, change a node's attested attributes, revoke a node (root operations). */
export function registerNodes(program: Command): void {
  const nodes = program.command('nodes').description('members of the cluster (root operations)');
  common(nodes.command('list').description('list the nodes connected to the root')).action(
    action(async (opts: NodesOptions) => {
      const { nodes: list, uptimeSeconds } = await apiClient(opts).get<{ nodes: Member[]; uptimeSeconds?: number }>('/api/nodes');
      if (opts.json) return printJson({ nodes: list, ...(uptimeSeconds === undefined ? {} : { uptimeSeconds }) });
      // Right after a root restart members are still rejoining: say so rather than print nothing.
      if (list.length === 0) return void process.stdout.write(uptimeSeconds !== undefined && uptimeSeconds < SYNC_GRACE_S ? `no nodes yet: the root started ${uptimeSeconds} s ago and members are rejoining (syncing); try again in a few seconds\n` : 'no nodes are connected\n');
      for (const n of list) process.stdout.write(`${n.nodeId}  ${n.name}  ${formatAttributes(n.attrs)}\n`);
    }),
  );
  common(nodes.command('set-attrs <node> <attrs>').description('re-sign the attributes of a node (id or name), e.g. region=us,tier=edge; holders apply them at once')).action(
    action(async (node: string, attrs: string, opts: NodesOptions) => {
      const parsed = parseAttributes(attrs);
      const result = await apiClient(opts).postJson<{ nodeId: string; attrs: Record<string, string>; serial: number }>(`/api/nodes/${encodeURIComponent(node)}/attributes`, { attrs: parsed });
      if (opts.json) printJson(result);
      else process.stdout.write(`${result.nodeId}: ${formatAttributes(result.attrs)} (record ${result.serial})\n`);
    }),
  );
  common(nodes.command('revoke <node>').description('remove a node from the cluster: every member refuses it from now on')).action(
    action(async (node: string, opts: NodesOptions) => {
      const result = await apiClient(opts).postJson<{ nodeId: string; revoked: string[] }>(`/api/nodes/${encodeURIComponent(node)}/revoke`, {});
      if (opts.json) printJson(result);
      else process.stdout.write(`revoked ${result.nodeId} (${result.revoked.length} node(s) revoked in total)\n`);
    }),
  );
}
