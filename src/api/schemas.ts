/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's requests and answers. They are
 * published in /openapi.json and an integration test checks real answers against them, so
 * the description stays true.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

export const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;
const bool = { type: 'boolean' } as const;
export const hash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const attrs = { type: 'object', additionalProperties: { type: 'string' } } as const;
const peer = { type: 'object', required: ['host', 'port'], properties: { host: str, port: int } } as const;

export function obj(properties: Record<string, unknown>, required: string[] = Object.keys(properties)): JsonSchema {
  return { type: 'object', required, properties };
}

export const ErrorBody = obj({ error: obj({ code: { type: 'string', pattern: '^ERR_' }, message: str, details: { type: 'object' } }, ['code', 'message']) });

export const Ok = obj({ ok: { const: true } });

const StoreStats = obj({
  volumes: { type: 'array', items: obj({ id: str, path: str, bytes: int, blocks: int }) },
  bytes: int,
  blocks: int,
});

/** A root on PostgreSQL: whether it leads, its fencing number, and the leader's addresses (docs/OPERATIONS.md, "Running several roots"). */
export const LeaderView = obj(
  {
    role: { enum: ['leader', 'standby'] },
    self: str,
    fence: int,
    leader: { anyOf: [obj({ holder: str, peer: str, api: str }, ['holder']), { type: 'null' }] },
    roots: { type: 'array', items: obj({ holder: str, peer: str, api: str, role: { enum: ['leader', 'standby'] }, seenSecondsAgo: { type: 'number' } }, ['holder', 'role', 'seenSecondsAgo']) },
  },
  ['role', 'self', 'fence', 'leader'],
);

export const NodeInfo = obj(
  { nodeId: str, name: str, root: bool, attrs, peer, api: str, http: str, store: StoreStats, rootId: { type: ['string', 'null'] }, leader: LeaderView },
  ['nodeId', 'name', 'root', 'attrs', 'peer', 'api', 'http', 'store'],
);

/** `GET /api/blocks/:hash`: whether the root holds a block, asked by a publish before it sends it (docs/PROTOCOL.md, `H` frames). */
export const BlockHeld = obj({ hash, held: bool });

export const Members = obj(
  { nodes: { type: 'array', items: obj({ nodeId: str, name: str, attrs, peer, api: str, http: str, joinedAt: str }) }, uptimeSeconds: int },
  ['nodes'],
);

const Holding = obj({ haveBlocks: int, haveBytes: int, totalBlocks: int, size: int, complete: bool, keptOutsideCriteria: bool }, ['haveBlocks', 'haveBytes', 'totalBlocks', 'size', 'complete']);

const nullableStr = { type: ['string', 'null'] } as const;
const state = { enum: ['live', 'withdrawn', 'expired'] } as const;
const Prefetch = { anyOf: [{ type: 'null' }, { type: 'object', properties: { window: str, rate: int } }] } as const;

export const ContentSummary = obj(
  {
    contentId: hash, name: str, size: int, mediaType: str, analyser: str, linear: bool, tracks: int, holes: int, blockSize: int, blockSizeReason: str, blocks: int, publisher: str, criteria: str, placement: str, origin: str, createdAt: str, local: Holding, warnings: { type: 'array', items: str },
    state, version: int, versions: int, expires: nullableStr, chunking: { enum: ['fixed', 'fastcdc'] }, prefetch: Prefetch,
  },
  ['contentId', 'name', 'size', 'blockSize', 'blocks', 'criteria', 'placement', 'origin', 'createdAt'],
);

export const Withdrawal = obj({ contentId: hash, freedBytes: int, state, reason: str });

export const Versions = obj({
  name: str,
  versions: { type: 'array', items: obj({ contentId: hash, version: int, state, size: int, blocks: int, createdAt: str, expires: nullableStr }) },
});

const Stuck = obj({ nodeId: str, name: str, reason: { enum: ['refused', 'no-space', 'no-peer', 'error', 'window', 'offline', 'stalled'] }, detail: str });

const Convergence = obj({
  qualified: int, complete: int, partial: int, none: int, remainingBytes: int, rateBps: { type: 'number', minimum: 0 },
  etaSeconds: { type: ['integer', 'null'], minimum: 0 }, converged: bool, stuck: { type: 'array', items: Stuck },
});

/** Where the history goes on: the cursor of the next (older) page, and how many records are kept. */
const HistoryCursor = obj({ next: { type: ['string', 'null'] }, total: int });

export const ContentList = obj({ contents: { type: 'array', items: ContentSummary }, history: HistoryCursor });

export const ContentStatus = obj(
  {
    contentId: hash,
    name: str,
    size: int,
    storedBytes: int,
    blocks: int,
    criteria: str,
    state,
    expires: nullableStr,
    withdrawnAt: nullableStr,
    withdrawnReason: nullableStr,
    version: int,
    versions: int,
    previous: { type: ['string', 'null'], pattern: '^[0-9a-f]{64}$' },
    changedBytes: int,
    movedBytes: int,
    convergence: Convergence,
    nodes: {
      type: 'array',
      items: obj(
        { nodeId: str, name: str, attrs, qualified: bool, online: bool, haveBlocks: int, haveBytes: int, complete: bool, fetchedBytes: int, rateBps: int, stuck: nullableStr, stuckDetail: nullableStr, url: nullableStr },
        ['nodeId', 'name', 'attrs', 'qualified', 'haveBlocks', 'haveBytes', 'complete', 'url'],
      ),
    },
  },
  ['contentId', 'name', 'size', 'blocks', 'criteria', 'nodes'],
);

export const CriteriaMatch = obj({
  criteria: str,
  total: int,
  matched: int,
  nodes: { type: 'array', items: obj({ nodeId: str, name: str, attrs, match: bool }) },
});

export const PublishSettings = obj({ blockSize: int, upload: str });

export const DraftRequest = {
  ...obj({ name: str, criteria: str, size: int, blockSize: int, mediaType: str, blocks: { type: 'array', items: hash }, sha256: hash }, ['name', 'criteria', 'size', 'blockSize', 'blocks', 'sha256']),
  additionalProperties: false,
} as JsonSchema;

export const DraftCreated = obj({ contentId: hash, name: str, size: int, blocks: int, criteria: str, upload: str });

const UploadState = obj({ contentId: hash, name: str, size: int, verifiedBytes: int, complete: bool, createdAt: str });
export const UploadList = obj({ uploads: { type: 'array', items: UploadState } });

export const Overview = obj({
  at: int,
  root: NodeInfo,
  nodes: {
    type: 'array',
    items: obj(
      { nodeId: str, name: str, attrs, api: str, http: str, joinedAt: str, parent: str, health: { enum: ['up', 'unreachable'] }, store: { anyOf: [StoreStats, { type: 'null' }] } },
      ['nodeId', 'name', 'attrs', 'api', 'http', 'joinedAt', 'parent', 'health', 'store'],
    ),
  },
  contents: { type: 'array', items: ContentStatus },
  history: HistoryCursor,
  uploads: { type: 'array', items: UploadState },
});

const publisherKey = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;
export const PublisherRequest = { ...obj({ key: publisherKey, name: str }, ['key']), additionalProperties: false } as JsonSchema;
export const PublisherList = obj({ serial: int, publishers: { type: 'array', items: obj({ key: publisherKey, name: str, addedAt: str }) } });
export const PublisherAdded = obj({ key: publisherKey, name: str, serial: int });
export const PublisherRemoved = obj({ key: publisherKey, removed: { const: true }, serial: int });
