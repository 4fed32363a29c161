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
  ERR_INSECURE_TRANSPORT: { status: 400, summary: 'The CLI refused to send an API token over plain http:// to a host that is not loopback; use an SSH tunnel or https://, or say --insecure-http.' },
  ERR_TLS_UNVERIFIED: { status: 502, summary: 'The server\'s HTTPS certificate could not be verified (not issued by the CA given with --ca or CANOPY_CA_FILE, or by a trusted CA, or not for that host name); the CLI sends nothing to it.' },
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
  ERR_STATE_KEY: { status: 500, summary: 'The state key file does not open the CA key kept in the state database (wrong key file, or the stored key was altered).' },
  ERR_STATE_MISMATCH: { status: 500, summary: 'The state database belongs to another network (its CA is not this root\'s), or its schema is newer than this Canopy.' },
  ERR_STATE_UNAVAILABLE: { status: 503, summary: 'The root\'s state database cannot be reached or refused a write (or a standby cannot read it).' },
  ERR_NOT_LEADER: { status: 503, summary: 'This root is a standby (or lost its lease): writes, and reads only the leader can answer, go to the leading root, whose addresses the error carries in details.leader; the CLI given several roots (--to a,b) follows it.' },
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
  ERR_OCI_REFERENCE: { status: 400, summary: 'An image reference, repository name, tag or digest is malformed (oci://HOST[:PORT]/repository[:tag][@sha256:...]).' },
  ERR_OCI_UPSTREAM: { status: 502, summary: 'The upstream registry could not be reached, timed out, or answered an error (401, 404, 429, 5xx); the message gives its status and OCI error code.' },
  ERR_OCI_DIGEST_MISMATCH: { status: 502, summary: 'The registry sent bytes that do not match their digest or size; nothing of them is stored or published.' },
  ERR_OCI_MANIFEST_INVALID: { status: 502, summary: 'An image manifest or index from the registry is malformed, of an unsupported media type, over 4 MiB, or has no manifest for the asked platform.' },
  ERR_CROSS_ORIGIN: { status: 403, summary: 'A state-changing API request authenticated by the browser cookie came from another origin, or without application/json (cross-site request forgery defence).' },
  ERR_NODE_NOT_FOUND: { status: 404, summary: 'No node with this id or name was admitted by this root (or is connected to it).' },
  ERR_API_TOKEN_NOT_FOUND: { status: 404, summary: 'No API token with this id exists on this node.' },
  ERR_PUBLISHER_NOT_FOUND: { status: 404, summary: 'This publisher key is not among the keys the root has authorised.' },
  ERR_NODE_REVOKED: { status: 403, summary: 'The root revoked this node; it stops instead of retrying (join again with a new token).' },
  ERR_BODY_TOO_LARGE: { status: 413, summary: 'A request body is larger than the route accepts (the message gives the limit).' },
  ERR_RELAY_ABORTED: { status: 503, summary: 'A peer relaying a block it was still receiving lost it before the end (its copy failed verification or its source went away); ask another holder, or that one once it holds the block.' },
  ERR_FIRST_COPY_ELSEWHERE: { status: 503, summary: 'The origin sends the first copy of this block to a downloader that passes blocks on faster; take it from a peer once one has it, or ask again (the origin then sends it).' },
  ERR_BUSY: { status: 429, summary: 'Too many requests of this kind are in progress at once; retry shortly (Retry-After says when).' },
  ERR_HTTP_REQUEST: { status: 400, summary: 'An HTTP request to an edge is malformed (for example two Host headers), or the chunked body of a publish upload is.' },
  ERR_HTTP_VERSION: { status: 505, summary: 'The request line names an HTTP version the edge does not speak (it speaks HTTP/1.0 and 1.1).' },
  ERR_UPLOAD_PROTOCOL: { status: 400, summary: 'A tus upload request was refused (missing Tus-Resumable, wrong offset, unknown upload...); the HTTP status is the one tus prescribes.' },
  ERR_S3_AUTH: { status: 403, summary: 'An S3 request is signed wrongly, with an unknown or expired key, or not at all for a content that needs a key; the S3 error code says which (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, RequestTimeTooSkewed, AuthorizationHeaderMalformed).' },
  ERR_S3_REQUEST: { status: 400, summary: 'An S3 request the read API cannot answer: a malformed parameter, a key with . or .. segments, a write, or an unknown object; the S3 error code and status say which (InvalidArgument, NoSuchKey, MethodNotAllowed, ...).' },
  ERR_DIRECTORY_ENTRY: { status: 400, summary: 'A directory (or S3 prefix) given to publish holds an entry a directory content cannot carry: a symlink that leaves the tree or is absolute, a name that is not valid UTF-8 or has a backslash, an S3 key with an empty, . or .. segment or that is both a file and a folder; the message names the path or key and nothing is published.' },
  ERR_SOURCE_CHANGED: { status: 409, summary: 'A file or origin object changed while it was being published (size or modification time, ETag or Last-Modified differ); nothing is published: publish again.' },
  ERR_ORIGIN: { status: 502, summary: 'An origin (HTTP or S3) could not be reached, stalled, refused ranges, answered an error (403, 404, 5xx...; the message gives its status and, for S3, its code such as NoSuchKey or SignatureDoesNotMatch), or no AWS credentials were found.' },
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
    const { code, message, details } = body as { code?: unknown; message?: unknown; details?: unknown };
    if (typeof code === 'string' && code in ERROR_CODES && typeof message === 'string') {
      // Details are kept (ERR_NOT_LEADER names the leader there, and the CLI follows it).
      return new CanopyError(code as ErrorCode, message, typeof details === 'object' && details !== null && !Array.isArray(details) ? { details: details as Record<string, unknown> } : {});
    }
  }
  return new CanopyError(fallback, `unexpected error body: ${JSON.stringify(body)?.slice(0, 200)}`);
}
