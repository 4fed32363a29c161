/**
 * Image references as the OCI Distribution specification and `distribution/reference`
 * define them: `HOST[:PORT]/path/name[:tag][@sha256:hex]`, repository names of lower-case
 * components, tags of at most 128 word characters, and digests. Pure and strict: every
 * reference that reaches the network or the catalog went through here (property-tested in
 * test/unit/registry/reference.test.ts).
 */
import { CanopyError } from '../core/errors.js';

/** One path component: lower-case alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Only SHA-256 digests are accepted: Canopy verifies every byte against them. */
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST_LABEL = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const HOST = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$`);
export const MAX_REPOSITORY_LENGTH = 255;

export interface ImageReference {
  /** `host[:port]` of the registry. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export function isRepository(name: string): boolean {
  return name.length <= MAX_REPOSITORY_LENGTH && REPOSITORY.test(name);
}

export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isDigest(digest: string): boolean {
  return DIGEST.test(digest);
}

export function isRegistryHost(host: string): boolean {
  if (!HOST.test(host)) return false;
  const port = /:(\d+)$/.exec(host.startsWith('[') ? host.slice(host.indexOf(']')) : host);
  return port === null || (Number(port[1]) > 0 && Number(port[1]) < 65536);
}

/**
 * Parses `oci://HOST[:PORT]/repo[:tag][@digest]` (the `oci://` prefix is optional). The
 * registry host is required: Canopy does not guess Docker Hub. Without tag or digest, the
 * tag is `latest`, as every client does.
 */
export function parseImageReference(text: string): ImageReference {
  const bad = (why: string) => new CanopyError('ERR_OCI_REFERENCE', `"${text.slice(0, 300)}" is not an image reference (oci://HOST[:PORT]/repository[:tag][@sha256:...]): ${why}`);
  if (text.length > 1024) throw bad('too long');
  const rest = text.startsWith('oci://') ? text.slice('oci://'.length) : text;
  const slash = rest.indexOf('/');
  if (slash <= 0) throw bad('the registry host is missing');
  const registry = rest.slice(0, slash);
  if (!isRegistryHost(registry)) throw bad(`"${registry}" is not a host[:port]`);
  let path = rest.slice(slash + 1);
  let digest: string | undefined;
  const at = path.indexOf('@');
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!isDigest(digest)) throw bad('the digest must be sha256: followed by 64 lower-case hex digits');
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!isTag(tag)) throw bad(`"${tag}" is not a tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)`);
  }
  if (!isRepository(path)) throw bad(`"${path}" is not a repository name (lower-case components a-z 0-9 separated by / with . _ __ - inside)`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Docker Hub answers under several names; containerd sends `ns=docker.io` whichever the image was fetched from. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Whether two registry hosts name the same registry (Docker Hub's aliases are one). */
export function sameRegistry(a: string, b: string): boolean {
  return a === b || (DOCKER_HUB.has(a) && DOCKER_HUB.has(b));
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** A path under `/v2/` of the Distribution API, split into repository, kind and reference. */
export type DistributionPath = { kind: 'base' } | { kind: 'manifests' | 'blobs'; repository: string; reference: string } | { kind: 'other' };

/**
 * Splits `/v2/<name>/(manifests|blobs)/<reference>`. The name may itself hold slashes, so
 * the kind is found from the right. Names and references are checked by the caller, which
 * answers each failure with its own OCI error code.
 */
export function splitDistributionPath(pathname: string): DistributionPath {
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base' };
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(pathname);
  if (!m) return { kind: 'other' };
  return { kind: m[2] as 'manifests' | 'blobs', repository: m[1]!, reference: m[3]! };
}
