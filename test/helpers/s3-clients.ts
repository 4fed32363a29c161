/** The real S3 clients the tests run against a node's S3 port: Debian's AWS CLI and rclone, with no user config. */
import type { S3Credentials } from '../../src/api/api-tokens.js';
import { runCommand, type CliResult } from './cli.js';

// The Debian packages, not whatever else is on PATH (a pyenv shim, say).
export const AWS = '/usr/bin/aws';

/** The AWS CLI's environment: no config or credentials files of the user, no instance metadata, a key or none. */
export function awsEnv(dir: string, k?: S3Credentials): Record<string, string> {
  return { AWS_CONFIG_FILE: `${dir}/none`, AWS_SHARED_CREDENTIALS_FILE: `${dir}/none`, AWS_DEFAULT_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: k?.accessKeyId ?? '', AWS_SECRET_ACCESS_KEY: k?.secretAccessKey ?? '', AWS_EC2_METADATA_DISABLED: 'true' };
}

/** `aws ARGS --endpoint-url ENDPOINT`, signed with `k` or anonymous. */
export function aws(endpoint: string, dir: string, args: string[], k?: S3Credentials): Promise<CliResult> {
  return runCommand(AWS, [...args, '--endpoint-url', endpoint, ...(k ? [] : ['--no-sign-request'])], { env: awsEnv(dir, k) });
}

/** `rclone ARGS` against ENDPOINT as an on-the-fly `:s3:` remote, path style, signed with `k` or anonymous. */
export function rclone(endpoint: string, args: string[], k?: S3Credentials): Promise<CliResult> {
  const auth = k ? ['--s3-access-key-id', k.accessKeyId, '--s3-secret-access-key', k.secretAccessKey] : [];
  return runCommand('rclone', [...args, '--s3-provider', 'Other', '--s3-endpoint', endpoint, ...auth, '--s3-force-path-style', '--config', '/dev/null'], { env: { AWS_CA_BUNDLE: '' } });
}
