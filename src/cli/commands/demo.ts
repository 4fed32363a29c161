import type { Command } from 'commander';
import { CanopyError } from '../../core/errors.js';
import { parseSize } from '../../core/sizes.js';
import { runDemo } from '../../demo/demo.js';
import { action, printJson } from '../output.js';
import { ProgressView } from '../../client/progress.js';

interface DemoCliOptions {
  nodes: string;
  size: string;
  dir: string;
  criteria: string;
  basePort: string;
  blockSize?: string;
  timeout: string;
  exit?: boolean;
  json?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start a local network (root + N nodes as processes), publish a sample, watch it spread, verify it')
    .option('--nodes <n>', 'number of nodes besides the root', '3')
    .option('--size <bytes>', 'size of the generated sample', '256MiB')
    .option('--dir <dir>', 'where the demo network keeps its data (wiped at start)', '.canopy/demo')
    .option('--criteria <expr>', 'criteria of the published sample', 'region=eu')
    .option('--base-port <n>', 'first port: the root uses N..N+3 (peer, API, HTTP, FTP), node i uses N+10i..N+10i+3; 0 picks free ports', '7400')
    .option('--block-size <size>', 'block size of the sample')
    .option('--timeout <seconds>', 'give up if distribution takes longer', '600')
    .option('--exit', 'exit once distribution is verified, printing a JSON summary as the last line')
    .option('--json', 'print only JSON')
    .action(
      action(async (opts: DemoCliOptions) => {
        const nodes = Number(opts.nodes);
        if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new CanopyError('ERR_USAGE', `--nodes: "${opts.nodes}" must be an integer from 1 to 64`);
        const basePort = Number(opts.basePort);
        if (!Number.isInteger(basePort) || basePort < 0 || basePort + nodes * 10 + 3 > 65535) throw new CanopyError('ERR_USAGE', `--base-port: "${opts.basePort}" is not a usable port`);
        const quiet = opts.json === true;
        const say = (line: string) => !quiet && process.stdout.write(`${line}\n`);
        const { network, result } = await runDemo({
          nodes,
          size: parseSize(opts.size),
          dir: opts.dir,
          criteria: opts.criteria,
          basePort,
          blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
          timeoutMs: Number(opts.timeout) * 1000,
          say,
          progress: quiet ? undefined : new ProgressView(),
        });
        say(`verified: ${result.verified} of ${result.qualified} qualified nodes serve the exact bytes; ${result.nodes - result.qualified} unqualified nodes hold nothing (${result.seconds} s)`);
        say(`enforced: holders refused a block to ${result.refused} unqualified node(s) asking with their own certificates (ERR_NOT_AUTHORISED); every link is mutual TLS under the cluster CA`);
        for (const u of result.urls) say(`  ${u.node}: ${u.url}`);
        if (opts.exit) {
          await network.stop();
          printJson({ ok: result.ok, nodes: result.nodes, qualified: result.qualified, verified: result.verified, unqualifiedHolding: result.unqualifiedHolding, refused: result.refused, seconds: result.seconds, contentId: result.contentId });
          return;
        }
        // The token in the URL becomes an HttpOnly cookie, so the browser app can call the API.
        const login = `?token=${encodeURIComponent(network.apiToken())}`;
        say(`dashboard ${network.root!.api}/${login}  publish from the browser ${network.root!.api}/publish${login}`);
        say(`root API ${network.root!.api} — try: npx canopy status --watch, npx canopy top, npx canopy ls, curl -O ${result.urls[0]?.url ?? ''}`);
        say('running; press Ctrl-C to stop every node');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        say('stopping…');
        await network.stop();
        say('stopped');
      }),
    );
}
