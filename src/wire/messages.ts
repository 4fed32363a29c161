/**
 * Peer wire messages: the header of each frame is `{ t, id?, re?, ...body }`. `t` names the
 * message; requests carry `id`, replies carry `re` (the id they answer) and are `ok` or
 * `err`; messages with neither are one-way. Every body is checked here, field by field,
 * before any handler sees it. docs/PROTOCOL.md lists the messages.
 */
import { CanopyError } from '../core/errors.js';
import { isHashHex } from '../core/hash.js';
import type { PeerAddress } from './transport.js';

export const PROTOCOL_VERSION = 1;

/** `record` is the sender's root-signed attribute record; its identity is its TLS certificate. */
export interface HelloBody { nodeId: string; name: string; record: Record<string, unknown>; version: number }
/** `prefetch` false: the node fetches only what its clients read, so the root expects no progress reports from it (absent: true). */
export interface JoinBody { peer: PeerAddress; api: string; http: string; prefetch?: boolean }
/**
 * The catalog sync: live contents, and what was taken out of service (a node applies it before serving);
 * `publishers` is the CA-signed list of authorised publisher keys, applied before the catalog.
 */
/** `horizon` (ISO time): the root may have pruned the withdrawals of contents out of service before it; absent from an older root. */
export interface JoinReply { rootId: string; catalog: { contentId: string; manifest: unknown; access?: unknown }[]; withdrawn?: WithdrawBody[]; horizon?: unknown; publishers?: unknown }
/** `access` is the root-signed access statement of a content that is not public. */
export interface AnnounceBody { contentId: string; manifest: unknown; access?: Record<string, unknown> }
/** Signed by the root with the cluster CA key (src/security/withdrawal.ts); nodes obey only a valid one. */
export interface WithdrawBody { contentId: string; at: string; reason: string; sig: string }
export interface ProgressBody {
  contentId: string;
  haveBlocks: number;
  haveBytes: number;
  /** Bytes received from peers for this content: what the version really moved. */
  fetchedBytes?: number;
  /** Why the node cannot progress: refused, no-space, no-peer, error. */
  stuck?: string;
  stuckDetail?: string;
}
export interface HoldersBody { contentId: string }
/**
 * `group` (only in an answer bounded for a large fleet, src/root/holder-bound.ts): true for a
 * downloader of the origin group (the origin's rendezvous designation runs among them), false
 * for a neighbour outside it; absent: every downloader is listed and takes part.
 */
export interface Holder { nodeId: string; peer: PeerAddress; complete: boolean; group?: boolean }
export interface HoldersReply { holders: Holder[] }
/** `pieces`: the requester takes the block in `part` frames, so a holder may relay one it is still receiving. */
export interface GetBlockBody { contentId: string; index: number; pieces?: boolean }
/** Asks a holder for its bitfield (reply payload) and load, and to send `have`/`seeded` from now on. */
export interface InterestBody { contentId: string }
export interface InterestReply { blocks: number; seed: boolean; uploads: number; queuedBytes: number; rate: number; cap: number }
/** Asks a holder for its current load; the round trip doubles as the proximity measure. */
export interface LoadBody { contentId: string }
/** `relay`: the block is still arriving here (unverified); it can be asked for and comes as it arrives. */
export interface HaveBody { contentId: string; index: number; relay?: boolean }
/** `declined`: the origin declined the block's first copy to this member, a slow drain (src/swarm/first-copy.ts); absent: it sent the block. */
export interface SeededBody extends HaveBody { declined?: string }
/** A node asks the root for a new certificate (same node id) for this public key; the reply is `{cert}`. */
export interface RenewBody { publicKey: string }
/** A member asks the root for an HTTPS server certificate for its names (src/node/https-setup.ts). */
export interface ServerCertBody { publicKey: string; names: string[] }
/** Signed statements from the root: newer attribute records and the revocation list. */
export interface TrustUpdateBody { records: Record<string, unknown>[]; revocations?: Record<string, unknown>; publishers?: Record<string, unknown> }
/** A control-tree message (src/tree/tree-messages.ts), checked by src/tree/tree-codec.ts. */
export interface TreeBody { from: { id: string; addr: string }; m: Record<string, unknown> }
export type PingBody = Record<string, never>;
/**
 * A node's registry mirror asks the root to pull through (src/root/pull-through.ts): a
 * manifest (tag or digest) or `offset` onwards of a blob. `registry` is the pull's `ns=`.
 */
export interface OciPullBody { registry?: string; repository: string; reference: string; blob: boolean; offset: number }

export interface MessageBodies {
  hello: HelloBody;
  join: JoinBody;
  announce: AnnounceBody;
  withdraw: WithdrawBody;
  progress: ProgressBody;
  holders: HoldersBody;
  'get-block': GetBlockBody;
  interest: InterestBody;
  load: LoadBody;
  have: HaveBody;
  seeded: SeededBody;
  cancel: GetBlockBody;
  'trust-update': TrustUpdateBody;
  renew: RenewBody;
  'server-cert': ServerCertBody;
  tree: TreeBody;
  ping: PingBody;
  /** The root asks a member for its store figures (dashboard, canopy top), over the member's own link. */
  'node-info': PingBody;
  'oci-pull': OciPullBody;
}
export type MessageType = keyof MessageBodies;

type Check = (v: unknown, path: string) => void;

function fail(path: string, what: string): never {
  throw new CanopyError('ERR_WIRE_PROTOCOL', `wire message field ${path}: ${what}`);
}
const str =
  (max = 256): Check =>
  (v, p) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(p, `expected a string of 1..${max} characters`);
  };
const count: Check = (v, p) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(p, 'expected a non-negative integer');
};
const hash: Check = (v, p) => {
  if (!isHashHex(v)) fail(p, 'expected 64 lowercase hex digits');
};
const url: Check = (v, p) => {
  str(512)(v, p);
  if (!/^https?:\/\/[^\s]+$/.test(v as string)) fail(p, 'expected an http(s) URL');
};
const address: Check = (v, p) => {
  if (typeof v !== 'object' || v === null) fail(p, 'expected {host, port}');
  const a = v as Record<string, unknown>;
  str(255)(a.host, `${p}.host`);
  if (typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535) fail(`${p}.port`, 'expected a port 1..65535');
};
const isoTime: Check = (v, p) => {
  str(64)(v, p);
  if (Number.isNaN(Date.parse(v as string))) fail(p, 'expected an ISO time');
};
const nodeRef: Check = (v, p) => {
  if (typeof v !== 'object' || v === null) fail(p, 'expected {id, addr}');
  const r = v as Record<string, unknown>;
  str(128)(r.id, `${p}.id`);
  str(300)(r.addr, `${p}.addr`);
};
const bool: Check = (v, p) => {
  if (typeof v !== 'boolean') fail(p, 'expected true or false');
};
const object: Check = (v, p) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'expected an object');
};
const optional =
  (check: Check): Check =>
  (v, p) => {
    if (v !== undefined) check(v, p);
  };
const arrayOf =
  (check: Check, max: number): Check =>
  (v, p) => {
    if (!Array.isArray(v) || v.length > max) fail(p, `expected an array of at most ${max} items`);
    (v as unknown[]).forEach((item, i) => check(item, `${p}[${i}]`));
  };

const SCHEMAS: { [T in MessageType]: Record<keyof MessageBodies[T], Check> } = {
  hello: { nodeId: str(128), name: str(64), record: object, version: count },
  join: { peer: address, api: url, http: url, prefetch: optional(bool) },
  announce: { contentId: hash, manifest: object, access: optional(object) },
  withdraw: { contentId: hash, at: isoTime, reason: str(200), sig: str(100) },
  progress: { contentId: hash, haveBlocks: count, haveBytes: count, fetchedBytes: optional(count), stuck: optional(str(32)), stuckDetail: optional(str(500)) },
  holders: { contentId: hash },
  'get-block': { contentId: hash, index: count, pieces: optional(bool) },
  interest: { contentId: hash },
  load: { contentId: hash },
  have: { contentId: hash, index: count, relay: optional(bool) },
  seeded: { contentId: hash, index: count, relay: optional(bool), declined: optional(str(128)) },
  cancel: { contentId: hash, index: count, pieces: optional(bool) },
  'trust-update': { records: arrayOf(object, 10_000), revocations: optional(object), publishers: optional(object) },
  renew: { publicKey: str(1024) },
  'server-cert': { publicKey: str(1024), names: arrayOf(str(253), 32) },
  tree: { from: nodeRef, m: object },
  ping: {},
  'node-info': {},
  'oci-pull': { registry: optional(str(300)), repository: str(255), reference: str(200), blob: bool, offset: count },
};

export function isMessageType(t: unknown): t is MessageType {
  return typeof t === 'string' && Object.hasOwn(SCHEMAS, t);
}

/** Checks a received header against the schema of its type and returns the typed body. */
export function checkBody<T extends MessageType>(type: T, header: Record<string, unknown>): MessageBodies[T] {
  const schema = SCHEMAS[type] as Record<string, Check>;
  for (const [field, check] of Object.entries(schema)) check(header[field], field);
  return header as unknown as MessageBodies[T];
}
