import type { Command } from 'commander';
import { parseAccessMode } from '../../security/content-access.js';
import { formatBytes } from '../../core/sizes.js';
import type { IngestSummary } from '../../ingest/ingest-file.js';
import { loadPublisherKey } from '../../ingest/publisher-key.js';
import { ProgressView } from '../../client/progress.js';
import { publishFile, type PublishFileOptions, type PublishResult } from '../../client/publish-file.js';
import { isImageReference, publishImage, type ImageOptions, type ImageResult } from '../../client/publish-image.js';
import { RateMeter } from '../../client/rate-meter.js';
import { action, printJson } from '../output.js';
import { addManifestOptions, manifestSettings, type ManifestCliOptions } from '../manifest-options.js';
import { apiClient, apiTokenFileOption, apiUrlOption } from '../api-options.js';
import type { ApiClient } from '../../client/api-client.js';
import { CanopyError } from '../../core/errors.js';
import { parseDuration } from '../../core/expiry.js';
import { isOriginUrl } from '../../client/origins/open-origin.js';
import { isS3Url } from '../../client/origins/s3-url.js';
import { describeOrigin, followOrigin, publishOrigin, type OriginPublishOptions, type OriginPublishResult } from '../../client/origins/publish-origin.js';

interface PublishOptions extends ManifestCliOptions, ImageOptions {
  to: string;
  access: string;
  follow?: string;
  force?: boolean;
  originTimeout: string;
  endpoint?: string;
  profile?: string;
  region?: string;
  signRequest: boolean;
}

export function registerPublish(program: Command): void {
  const cmd = program.command('publish <path>').description('analyse, hash and sign a file or a directory here, or read one from an http(s):// or s3:// origin by ranges (s3://bucket/prefix/: a directory) (or fetch an image: oci://HOST[:PORT]/repo:tag) and publish it to a running network; prints the content id');
  addManifestOptions(cmd)
    .addOption(apiUrlOption())
    .addOption(apiTokenFileOption())
    .option('--access <mode>', 'who may fetch it from the edge servers: public, or signed (URLs from canopy url)', 'public')
    .option('--platform <os/arch>', 'oci:// only: keep just this platform of a multi-platform image, e.g. linux/amd64')
    .option('--insecure-registry', 'oci:// only: the registry speaks plain HTTP')
    .option('--registry-ca <file>', 'oci:// only: PEM file of a CA to trust for the registry')
    .option('--registry-timeout <seconds>', 'oci:// only: how long the registry may take to answer or to send more bytes', '30')
    .option('--registry-creds <user:password>', 'oci:// only: basic credentials (default: $CANOPY_REGISTRY_CREDS; also used for the bearer-token flow)')
    .option('--follow <interval>', 'http(s):// and s3:// only: keep watching the origin and publish a new version when it changes (e.g. 30s, 5m)')
    .option('--force', 'http(s):// and s3:// only: publish even if the origin has not changed since this name was last published from it')
    .option('--origin-timeout <seconds>', 'http(s):// and s3:// only: how long the origin may send no byte before the read is retried', '30')
    .option('--endpoint <url>', 's3:// only: an S3-compatible server (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the profile\'s endpoint_url, else AWS)')
    .option('--profile <name>', 's3:// only: the AWS profile for credentials and settings (default: $AWS_PROFILE, else default)')
    .option('--region <region>', 's3:// only: the bucket\'s region (default: $AWS_REGION, the profile\'s, else us-east-1)')
    .option('--no-sign-request', 's3:// only: read a public bucket anonymously')
    .action(
      action(async (file: string, opts: PublishOptions) => {
        const image = isImageReference(file);
        const settings = manifestSettings(file, opts);
        const key = loadPublisherKey(opts.key, (k) => process.stderr.write(`created a publisher key at ${k.path}\n`));
        const view = !opts.json && process.stdout.isTTY ? new ProgressView() : undefined;
        const meter = new RateMeter();
        const options: PublishFileOptions = {
          ...settings,
          name: image ? opts.name : settings.name,
          key,
          access: parseAccessMode(opts.access),
          onProgress: view ? (done, total) => meter.due(done, total) && view.update([{ label: image ? 'fetch + publish' : 'publish', done, total, note: meter.note(done, total) }]) : undefined,
        };
        const api = apiClient(opts);
        if (!isS3Url(file) && (opts.endpoint ?? opts.profile ?? opts.region ?? (opts.signRequest ? undefined : '--no-sign-request')) !== undefined) throw new CanopyError('ERR_USAGE', '--endpoint, --profile, --region and --no-sign-request apply to s3:// origins only');
        if (isOriginUrl(file)) return publishFromOrigin(api, file, { ...options, name: opts.name, force: opts.force, stallMs: seconds('--origin-timeout', opts.originTimeout) * 1000, endpoint: opts.endpoint, profile: opts.profile, region: opts.region, noSignRequest: !opts.signRequest }, opts);
        if (opts.follow !== undefined) throw new CanopyError('ERR_USAGE', '--follow needs an http(s):// or s3:// origin');
        const result: PublishResult & Partial<ImageResult> = image ? await publishImage(api, file, options, opts) : await publishFile(api, file, options);
        if (opts.json) printJson(result);
        else process.stdout.write(`${result.contentId}\n${result.image ? `${result.image}: ${result.digest}, ${result.blobs} blobs\n` : ''}${describe(result)}\npublished${result.version && result.version > 1 ? ` as version ${result.version}` : ''} for "${result.criteria}"${result.expires ? `, expires ${result.expires}` : ''}\n`);
      }),
    );
}

function seconds(option: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new CanopyError('ERR_USAGE', `${option}: "${text}" is not a number of seconds above 0`);
  return n;
}

async function publishFromOrigin(api: ApiClient, url: string, options: OriginPublishOptions, opts: PublishOptions): Promise<void> {
  const show = (r: OriginPublishResult | Error) => {
    if (r instanceof Error) {
      if (opts.follow === undefined) throw r;
      process.stderr.write(`canopy: ${r instanceof CanopyError ? `error [${r.code}]: ` : ''}${r.message} (trying again in ${opts.follow})\n`);
    } else if (opts.json) printJson(r);
    else process.stdout.write(`${r.contentId}\n${r.published ? `${describe(r.published)}\n` : ''}${describeOrigin(r)}\n`);
  };
  if (opts.follow === undefined) return show(await publishOrigin(api, url, options));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  await followOrigin(api, url, options, parseDuration(opts.follow), show, stop.signal);
}

/** Human summary of an ingest: analyser, layout, block size and why. */
export function describe(s: IngestSummary): string {
  const lines = [
    `${s.name}: ${formatBytes(s.size)}, ${s.mediaType}, analysed as ${s.analyser}, ${s.linear ? 'linear' : 'not linear'}`,
    `  ${s.tracks.length} track(s): ${s.tracks.map((t) => `${t.kind}@${t.offset}+${formatBytes(t.length)}`).join(', ') || 'none'}`,
    `  ${s.blocks} blocks of ${formatBytes(s.blockSize)} (${s.blockSizeReason})`,
    `  ${s.holes} hole(s) skipped, ${formatBytes(s.holeBytes)} not stored`,
  ];
  if (s.files !== undefined) lines.push(`  directory: ${s.files} file(s), each starting on a block boundary`);
  if (s.media) lines.push(`  media: ${(s.media.durationMs / 1000).toFixed(1)} s at ${(s.media.bitrate / 1e6).toFixed(2)} Mbit/s`);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
