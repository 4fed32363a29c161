/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's requests and answers. They are
 * published in /openapi.json and an integration test checks real answers against them, so
 * the description stays true.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;
const bool = { type: 'boolean' } as const;
const hash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const attrs = { type: 'object', additionalProperties: { type: 'string' } } as const;
const peer = { type: 'object', required: ['host', 'port'], properties: { host: str, port: int } } as const;

function obj(properties: Record<string, unknown>, required: string[] = Object.keys(properties)): JsonSchema {
  return { type: 'object', required, properties };
}

export const ErrorBody = obj({ error: obj({ code: { type: 'string', pattern: '^ERR_' }, message: str, details: { type: 'object' } }, ['code', 'message']) });

export const Ok = obj({ ok: { const: true } });

const StoreStats = obj({
  volumes: { type: 'array', items: obj({ id: str, path: str, bytes: int, blocks: int }) },
  bytes: int,
  blocks: int,
});

export const NodeInfo = obj(
  { nodeId: str, name: str, root: bool, attrs, peer, api: str, http: str, store: StoreStats, rootId: { type: ['string', 'null'] } },
  ['nodeId', 'name', 'root', 'attrs', 'peer', 'api', 'http', 'store'],
);

export const Members = obj({ nodes: { type: 'array', items: obj({ nodeId: str, name: str, attrs, peer, api: str, http: str, joinedAt: str }) } });

const Holding = obj({ haveBlocks: int, haveBytes: int, totalBlocks: int, size: int, complete: bool });

export const ContentSummary = obj(
  { contentId: hash, name: str, size: int, mediaType: str, analyser: str, linear: bool, tracks: int, holes: int, blockSize: int, blockSizeReason: str, blocks: int, publisher: str, criteria: str, placement: str, origin: str, createdAt: str, local: Holding, warnings: { type: 'array', items: str } },
  ['contentId', 'name', 'size', 'blockSize', 'blocks', 'criteria', 'placement', 'origin', 'createdAt'],
);

export const ContentList = obj({ contents: { type: 'array', items: ContentSummary } });

export const ContentStatus = obj({
  contentId: hash,
  name: str,
  size: int,
  blocks: int,
  criteria: str,
  nodes: { type: 'array', items: obj({ nodeId: str, name: str, attrs, qualified: bool, haveBlocks: int, haveBytes: int, complete: bool, url: str }) },
});

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
  uploads: { type: 'array', items: UploadState },
});
