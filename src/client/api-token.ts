/**
 * How the CLI finds the bearer token for a node's API, first match wins:
 *   1. --api-token-file FILE (commands that have it)
 *   2. CANOPY_API_TOKEN        (the token itself)
 *   3. CANOPY_API_TOKEN_FILE   (a file holding it)
 *   4. .canopy/node/api-token  (written by `canopy node` with the default --data)
 *   5. .canopy/demo/api-token  (written by `npm start` / `canopy demo`)
 * No token is not an error here: the node answers ERR_AUTH_REQUIRED, which says where to look.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const TOKEN_SOURCES = '--api-token-file, CANOPY_API_TOKEN, CANOPY_API_TOKEN_FILE, .canopy/node/api-token, .canopy/demo/api-token';

export const DEFAULT_TOKEN_FILES = [path.join('.canopy', 'node', 'api-token'), path.join('.canopy', 'demo', 'api-token')];

function readToken(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

export function findApiToken(tokenFile?: string): string | undefined {
  if (tokenFile) return readToken(tokenFile);
  if (process.env.CANOPY_API_TOKEN) return process.env.CANOPY_API_TOKEN.trim();
  if (process.env.CANOPY_API_TOKEN_FILE) return readToken(process.env.CANOPY_API_TOKEN_FILE);
  for (const f of DEFAULT_TOKEN_FILES) {
    const t = readToken(f);
    if (t) return t;
  }
  return undefined;
}
