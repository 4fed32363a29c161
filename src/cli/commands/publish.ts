import type { Command } from 'commander';
import { parseAccessMode } from '../../security/content-access.js';
import { formatBytes } from '../../core/sizes.js';
import type { IngestSummary } from '../../ingest/ingest-file.js';
import { loadPublisherKey } from '../../ingest/publisher-key.js';
import { ApiClient, DEFAULT_API } from '../../client/api-client.js';
import { ProgressView } from '../../client/progress.js';
import { publishFile } from '../../client/publish-file.js';
import { RateMeter } from '../../client/rate-meter.js';
import { action, printJson } from '../output.js';
import { addManifestOptions, manifestSettings, type ManifestCliOptions } from '../manifest-options.js';

interface PublishOptions extends ManifestCliOptions {
  to: string;
  access: string;
}

export function registerPublish(program: Command): void {
  const cmd = program.command('publish <file>').description('analyse, hash and sign a file here and publish it to a running network; prints the content id');
  addManifestOptions(cmd)
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--access <mode>', 'who may fetch it from the edge servers: public, or signed (URLs from canopy url)', 'public')
    .action(
      action(async (file: string, opts: PublishOptions) => {
        const settings = manifestSettings(file, opts);
        const key = loadPublisherKey(opts.key, (k) => process.stderr.write(`created a publisher key at ${k.path}\n`));
        const view = !opts.json && process.stdout.isTTY ? new ProgressView() : undefined;
        const meter = new RateMeter();
        const result = await publishFile(new ApiClient(opts.to), file, {
          ...settings,
          key,
          access: parseAccessMode(opts.access),
          onProgress: view ? (done, total) => meter.due(done, total) && view.update([{ label: 'publish', done, total, note: meter.note(done, total) }]) : undefined,
        });
        if (opts.json) printJson(result);
        else process.stdout.write(`${result.contentId}\n${describe(result)}\npublished${result.version && result.version > 1 ? ` as version ${result.version}` : ''} for "${result.criteria}"${result.expires ? `, expires ${result.expires}` : ''}\n`);
      }),
    );
}

/** Human summary of an ingest: analyser, layout, block size and why. */
export function describe(s: IngestSummary): string {
  const lines = [
    `${s.name}: ${formatBytes(s.size)}, ${s.mediaType}, analysed as ${s.analyser}, ${s.linear ? 'linear' : 'not linear'}`,
    `  ${s.tracks.length} track(s): ${s.tracks.map((t) => `${t.kind}@${t.offset}+${formatBytes(t.length)}`).join(', ') || 'none'}`,
    `  ${s.blocks} blocks of ${formatBytes(s.blockSize)} (${s.blockSizeReason})`,
    `  ${s.holes} hole(s) skipped, ${formatBytes(s.holeBytes)} not stored`,
  ];
  if (s.media) lines.push(`  media: ${(s.media.durationMs / 1000).toFixed(1)} s at ${(s.media.bitrate / 1e6).toFixed(2)} Mbit/s`);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
