/**
 * Every failure a user or peer can meet is a subclass of CanopyError with a stable
 * `code`. The table below is the single source: docs/ERRORS.md is checked against it by
 * test/unit/core/errors-doc.test.ts, so the documentation cannot drift from the code.
 */
export const ERROR_CODES = {
  ERR_USAGE: { status: 400, summary: 'A command-line argument or option is invalid.' },
  ERR_CRITERIA_SYNTAX: { status: 400, summary: 'A criteria expression does not parse; the message gives the position and what was expected.' },
  ERR_ATTRIBUTE_SYNTAX: { status: 400, summary: 'A node attribute is not of the form key=value with allowed characters.' },
  ERR_SIZE_SYNTAX: { status: 400, summary: 'A size such as 64MiB or 4096 does not parse.' },
  ERR_FILE_NOT_FOUND: { status: 400, summary: 'A file named on the command line does not exist or is not a regular file.' },
  ERR_UNREACHABLE: { status: 502, summary: 'A node or root could not be reached at the given address.' },
  ERR_PORT_IN_USE: { status: 500, summary: 'A port the node was told to listen on is already taken.' },
  ERR_MANIFEST_INVALID: { status: 400, summary: 'A manifest is malformed or its content id does not match its bytes.' },
  ERR_BLOCK_HASH_MISMATCH: { status: 502, summary: 'A block received from a peer does not match the hash the manifest gives.' },
  ERR_BLOCK_NOT_FOUND: { status: 404, summary: 'The asked-for block is not held by this node.' },
  ERR_CONTENT_NOT_FOUND: { status: 404, summary: 'No content with this id or name is known here.' },
  ERR_NOT_AUTHORISED: { status: 403, summary: 'The requester does not meet the content criteria; the holder refuses to send it.' },
  ERR_WIRE_PROTOCOL: { status: 400, summary: 'A peer sent a frame or message that breaks the wire protocol.' },
  ERR_WIRE_TOO_LARGE: { status: 413, summary: 'A peer sent a frame above the size limit.' },
  ERR_CONNECTION_CLOSED: { status: 502, summary: 'The connection to a peer closed before the answer arrived.' },
  ERR_TIMEOUT: { status: 504, summary: 'A peer or node did not answer in time.' },
  ERR_RANGE_NOT_SATISFIABLE: { status: 416, summary: 'An HTTP Range header asks for bytes outside the content.' },
  ERR_RANGE_SYNTAX: { status: 400, summary: 'An HTTP Range header does not parse.' },
  ERR_NOT_HELD: { status: 503, summary: 'This node does not hold every block the request needs.' },
  ERR_CONFIG_INVALID: { status: 400, summary: 'A configuration value is missing or invalid; the message names the key.' },
  ERR_STORE_IO: { status: 500, summary: 'A volume failed to read or write a block.' },
  ERR_INTERNAL: { status: 500, summary: 'An unexpected error inside Canopy (a bug); the API answers without internals, the CLI shows the message, the node logs the stack.' },
  ERR_DISTRIBUTION_FAILED: { status: 500, summary: 'The demo could not verify distribution; the message says which node and why.' },
  ERR_HTTP: { status: 502, summary: 'An HTTP call to a node API failed; the message carries the remote error.' },
  ERR_KEY_INVALID: { status: 400, summary: 'A publisher key file is missing, unreadable or not an Ed25519 key; the message names the file.' },
  ERR_PUBLISH_MISMATCH: { status: 400, summary: 'The blocks uploaded with a publish do not match its signed manifest, or the manifest names another origin.' },
  ERR_CONTENT_WITHDRAWN: { status: 410, summary: 'The content was withdrawn or has expired; no node serves it any more.' },
  ERR_NOT_SYNCED: { status: 503, summary: 'This node has not yet learnt the current catalog from the network, so it serves nothing yet.' },
  ERR_STORE_FULL: { status: 507, summary: 'No volume has room for a block (capacity, quota or a full disk) and nothing unpinned is left to evict; nothing partial is kept.' },
  ERR_AUTH_REQUIRED: { status: 401, summary: 'The API request carries no valid bearer token; the CLI finds one with --api-token-file, CANOPY_API_TOKEN(_FILE) or the node data directory.' },
  ERR_SCOPE: { status: 403, summary: 'The bearer token is valid but lacks the scope (read, publish, admin) this request needs.' },
  ERR_URL_SIGNATURE: { status: 403, summary: 'The content is not public and the URL carries no valid, unexpired signature.' },
  ERR_PUBLISHER_NOT_AUTHORISED: { status: 403, summary: 'The manifest is signed by a publisher key the root has not authorised (canopy publishers add); nothing of the publish is kept.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CanopyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CanopyError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isCanopyError(err: unknown, code?: ErrorCode): err is CanopyError {
  return err instanceof CanopyError && (code === undefined || err.code === code);
}

/** Rebuilds an error received as JSON (HTTP body or wire message) so callers can match on its code. */
export function errorFromJSON(body: unknown, fallback: ErrorCode = 'ERR_HTTP'): CanopyError {
  if (typeof body === 'object' && body !== null) {
    const { code, message } = body as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code in ERROR_CODES && typeof message === 'string') {
      return new CanopyError(code as ErrorCode, message);
    }
  }
  return new CanopyError(fallback, `unexpected error body: ${JSON.stringify(body)?.slice(0, 200)}`);
}
