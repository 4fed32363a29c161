import type { Command } from 'commander';
import { formatCriteria, parseCriteria } from '../../core/criteria.js';
import { ApiClient, DEFAULT_API } from '../../client/api-client.js';
import { action, printJson } from '../output.js';

interface CriteriaCount {
  criteria: string;
  matching: number;
  partial: boolean;
  nodes: number;
}

export function registerCriteria(program: Command): void {
  const criteria = program.command('criteria').description('work with criteria expressions');
  criteria
    .command('check <expr>')
    .description('parse a criteria and count the nodes of the running network that meet it now')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (expr: string, opts: { to: string; json?: boolean }) => {
        const canonical = formatCriteria(parseCriteria(expr)); // syntax errors stop here, with the position
        const r = await new ApiClient(opts.to).get<CriteriaCount>(`/api/criteria/count?criteria=${encodeURIComponent(canonical)}`);
        if (opts.json) return printJson(r);
        const note = r.partial ? ' (at least: part of the tree did not answer)' : '';
        process.stdout.write(`${r.matching} of ${r.nodes} nodes match "${r.criteria}"${note}\n`);
      }),
    );
}
