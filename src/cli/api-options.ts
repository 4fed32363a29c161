/**
 * The options of every command that talks to a node's admin API, defined once so that all
 * of them accept the same token sources (--api-token-file first, then the environment and
 * the default files: ./api-token.ts) and none can drift.
 */
import { Option } from 'commander';
import { ApiClient, DEFAULT_API } from '../client/api-client.js';
import { findApiToken } from '../client/api-token.js';

export interface ApiTarget {
  to: string;
  apiTokenFile?: string;
}

/** `--to URL`: which node's API (the root's by default). */
export function apiUrlOption(what = 'admin API of the root'): Option {
  const several = what.includes('root') ? ' (several roots on PostgreSQL: their URLs comma-separated; the CLI finds and follows the leader)' : '';
  return new Option('--to <url>', `${what}${several}`).default(DEFAULT_API);
}

/** `--api-token-file FILE`: the first of the token sources the README lists. */
export function apiTokenFileOption(): Option {
  return new Option('--api-token-file <file>', 'file with an API token (else CANOPY_API_TOKEN, CANOPY_API_TOKEN_FILE, .canopy/node/api-token, .canopy/demo/api-token)');
}

export function apiClient(opts: ApiTarget): ApiClient {
  return new ApiClient(opts.to, findApiToken(opts.apiTokenFile));
}
